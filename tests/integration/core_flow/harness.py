"""A running gateway core against simulated modems on ptys, for the core-flow tests.

:func:`running_gateway` starts a :class:`~gatewayd.simulator.SimNetwork` (unless one is
given), builds a :class:`~gatewayd.service.daemon.Gateway` on the test's database and runs it as a
task; :meth:`GatewayRun.stop` stops it cleanly. Helpers read the database and the simulator's
ledger, and :func:`eventually` polls a condition against a deadline instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select

from gatewayd.bus import Bus, InProcessBus
from gatewayd.config import (
    LeaseSettings,
    ModemSettings,
    PrepareAhead,
    RetryPolicy,
    Settings,
    load_settings,
)
from gatewayd.queue import NewMessage, enqueue, prepare
from gatewayd.service.daemon import Gateway
from gatewayd.simulator import ModemHandle, SimNetwork
from gatewayd.simulator.network import ProfileChoice
from gatewayd.simulator.profiles import GENERIC
from gatewayd.store import Database, incoming_messages, message_parts, messages

T = TypeVar("T")

EXTERNAL = "+5511987650000"
"""A number outside the simulated network: accepted, recorded in the ledger, reported."""


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, timeout: float, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns something truthy (and return that); fail at the
    deadline."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    last: T | None = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def make_settings(
    db_url: str,
    data_dir: Path,
    *,
    host: str = "core-flow",
    poll_interval: float = 0.25,
    retry: RetryPolicy | None = None,
    redis_url: str | None = None,
    prepare_ahead: PrepareAhead | None = None,
    lease: LeaseSettings | None = None,
) -> Settings:
    settings = load_settings(
        None, env={"SMSGW_DATABASE_URL": db_url, "SMSGW_DATA_DIR": str(data_dir)}
    )
    gateway = replace(
        settings.gateway,
        host=host,
        poll_interval=poll_interval,
        retry=retry or RetryPolicy(max_attempts=5, backoff_base=0.2, backoff_cap=1.0),
        prepare_ahead=prepare_ahead or settings.gateway.prepare_ahead,
        lease=lease or settings.gateway.lease,
    )
    return replace(settings, gateway=gateway, redis_url=redis_url)


@dataclass
class GatewayRun:
    gateway: Gateway
    task: asyncio.Task[None]

    async def stop(self, timeout: float = 15.0) -> None:
        self.gateway.stop()
        await asyncio.wait_for(self.task, timeout)


@dataclass
class Flow:
    """Everything a core-flow test touches."""

    network: SimNetwork
    handles: list[ModemHandle]
    db: Database
    settings: Settings
    modems: tuple[ModemSettings, ...]
    bus: Bus
    run: GatewayRun | None = None

    async def start(self, **gateway_options: Any) -> GatewayRun:
        gateway = Gateway(self.settings, self.db, self.bus, modems=self.modems, **gateway_options)
        ready = asyncio.Event()
        task = asyncio.create_task(gateway.run(on_ready=ready.set), name="gateway")
        await asyncio.wait_for(ready.wait(), 10)
        self.run = GatewayRun(gateway, task)
        return self.run

    async def stop(self) -> None:
        if self.run is not None:
            run, self.run = self.run, None
            await run.stop()

    @property
    def gateway(self) -> Gateway:
        assert self.run is not None
        return self.run.gateway

    async def send(self, *news: NewMessage, wake: bool = True) -> list[int]:
        """Queue ``news``; with ``wake``, nudge the running gateway directly (no bus)."""
        async with self.db.begin() as conn:
            ids, _ = await enqueue(conn, [prepare(n) for n in news], created_by="test")
        if wake and self.run is not None:
            self.run.gateway.wake_all()
        return ids

    async def statuses(self, ids: Sequence[int]) -> dict[int, str]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(messages.c.id, messages.c.status).where(messages.c.id.in_(list(ids)))
            )
            return {row.id: row.status for row in rows}

    async def wait_status(
        self, ids: Sequence[int], wanted: str | set[str], *, timeout: float = 30.0
    ) -> dict[int, str]:
        accepted = {wanted} if isinstance(wanted, str) else wanted

        async def all_there() -> dict[int, str] | None:
            found = await self.statuses(ids)
            done = len(found) == len(ids) and all(s in accepted for s in found.values())
            return found if done else None

        try:
            return await eventually(all_there, timeout=timeout, what=f"messages {wanted}")
        except AssertionError as timed_out:
            found = await self.statuses(ids)
            others = {i: s for i, s in found.items() if s not in accepted}
            raise AssertionError(f"{timed_out}; still {others}") from None

    async def parts(self, message_id: int) -> list[Any]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(message_parts)
                .where(message_parts.c.message_id == message_id)
                .order_by(message_parts.c.seq)
            )
            return list(rows.all())

    async def message(self, message_id: int) -> Any:
        async with self.db.read() as conn:
            return (await conn.execute(select(messages).where(messages.c.id == message_id))).one()

    async def inbox(self) -> list[Any]:
        async with self.db.read() as conn:
            rows = await conn.execute(select(incoming_messages).order_by(incoming_messages.c.id))
            return list(rows.all())

    async def count(self, table: Any) -> int:
        async with self.db.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


def ledger_counts(entries: Sequence[dict[str, Any]]) -> Counter[tuple[str, str | None]]:
    """How often each (recipient, text) part reached the network."""
    return Counter((e["to"], e["text"]) for e in entries)


@contextlib.asynccontextmanager
async def flow(
    db_url: str,
    tmp_path: Path,
    *,
    modems: int = 2,
    latency_ms: float = 20,
    report_delay_ms: float = 100,
    modem_options: dict[str, Any] | None = None,
    bus: Bus | None = None,
    start: bool = True,
    profile: ProfileChoice = GENERIC,
    **settings_options: Any,
) -> AsyncIterator[Flow]:
    """Simulated modems, a database handle and (unless ``start=False``) a running gateway."""
    network = SimNetwork(latency_ms=latency_ms, report_delay_ms=report_delay_ms, profile=profile)
    handles = await network.start(modems, tmp_path / "dev")
    db = Database(db_url)
    settings = make_settings(db_url, tmp_path / "data", **settings_options)
    configs = tuple(
        ModemSettings(name=f"sim{h.index}", device=h.device, **(modem_options or {}))
        for h in handles
    )
    the_flow = Flow(network, handles, db, settings, configs, bus or InProcessBus())
    try:
        if start:
            await the_flow.start()
        yield the_flow
    finally:
        try:
            await the_flow.stop()
        finally:
            await network.close()
            await the_flow.bus.close()
            await db.close()
