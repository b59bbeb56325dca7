"""Starting the SMPP server on a process's settings, database and bus, and stopping it:
``webui smpp`` and ``gatewayd run --web`` (with ``SMSGW_SMPP_LISTEN`` set) both call
:func:`start_smpp`.

::

    running = await start_smpp(settings, db, bus)   # listening; the outbox pump running
    ...
    await running.stop()                            # unbinds everyone, stops the pump

It builds its own services (accounts, sending with its group commit and validation pool) on
the database and bus it is handed; what it opens, :meth:`RunningSmpp.stop` closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from dataclasses import dataclass, field
from datetime import timedelta

from gatewayd.bus import Bus
from gatewayd.config import Settings
from gatewayd.store import Database
from webui.auth.passwords import PasswordWork
from webui.auth.throttle import ThrottlePolicy
from webui.options import WebOptions
from webui.services.accounts import Accounts
from webui.services.group_commit import SendGroup
from webui.services.sending import Sending
from webui.services.throughput import create_buckets
from webui.services.validation_pool import ValidationPool
from webui.smpp.operations import SmppOperations
from webui.smpp.pump import DeliveryPump, wake_on_events
from webui.smpp.refresh import keep_refreshing
from webui.smpp.server import BindRegistry, SmppServer

STOP_GRACE = 15.0
ACCOUNT_REFRESH = 30.0
"""Seconds between reads of the bound accounts (limits changed, account revoked)."""
YOUNG_OBJECTS_COLLECTED_AT = 20_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""
COMMIT_LAG = 2.0
"""Seconds a new event or incoming SMS waits before it becomes a deliver_sm on PostgreSQL
(ids are handed out before the transactions that use them commit)."""


def settle_garbage_collector() -> None:
    """For a process that is the SMPP server alone, once it is listening: everything loaded
    so far (modules, settings, the SQL compiled at start) is frozen out of the collector's
    sight, and young objects are collected less often. A full collection otherwise walks
    every object of the process, a pause of tens of milliseconds that every submit_sm in
    flight waits for."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS_COLLECTED_AT, middle, old)


@dataclass
class RunningSmpp:
    server: SmppServer
    pump: DeliveryPump
    accounts: Accounts
    pool: ValidationPool
    password_work: PasswordWork
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def registry(self) -> BindRegistry:
        return self.server.registry

    async def stop(self) -> None:
        await self.server.stop()
        await self.pump.stop()
        # Cancelling in the middle of a database call can leave a SQLite connection
        # half-closed: the pump finishes its round instead, and only a stuck one is cancelled.
        if self.tasks:
            await asyncio.wait(self.tasks[:1], timeout=STOP_GRACE)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.pool.close()
        self.password_work.close()
        await self.accounts.close()


async def start_smpp(
    settings: Settings,
    db: Database,
    bus: Bus,
    *,
    commit_lag: float = COMMIT_LAG,
    account_refresh: float = ACCOUNT_REFRESH,
) -> RunningSmpp:
    """Listen on ``[smpp]``'s addresses (OSError or TlsError when that fails) and run the
    outbox pump until :meth:`RunningSmpp.stop`."""
    smpp = settings.smpp
    password_work = PasswordWork()
    accounts = Accounts(
        db,
        password_work,
        ThrottlePolicy(
            pair_limit=WebOptions.pair_failure_limit,
            address_limit=WebOptions.address_failure_limit,
            window=timedelta(minutes=WebOptions.failure_window_minutes),
        ),
        create_buckets(settings.redis_url),
    )
    pool = ValidationPool()
    sending = Sending(db, bus, settings, SendGroup(db, bus), pool, accounts)
    operations = SmppOperations(db, sending, accounts, default_alphabet=smpp.default_alphabet)
    registry = BindRegistry()
    pump = DeliveryPump(
        db,
        registry.receivers,
        poll_interval=smpp.poll_interval,
        redelivery_delay=smpp.redelivery_delay,
        response_timeout=smpp.response_timeout,
        commit_lag=commit_lag,
        default_alphabet=smpp.default_alphabet,
    )
    registry.on_change = pump.poke
    server = SmppServer(smpp, operations, registry)
    running = RunningSmpp(server, pump, accounts, pool, password_work)
    try:
        await server.start()
    except BaseException:
        await running.stop()
        raise
    running.tasks.append(asyncio.create_task(pump.run(), name="smpp-outbox"))
    running.tasks.append(asyncio.create_task(wake_on_events(bus, pump), name="smpp-wake"))
    running.tasks.append(
        asyncio.create_task(
            keep_refreshing(db, registry, account_refresh), name="smpp-account-refresh"
        )
    )
    return running
