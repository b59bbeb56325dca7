"""Sending the outbox to bound receivers: one task per server derives new receipts and
incoming SMS (:mod:`webui.smpp.outbox`), claims what is due for each account that has a
receiver or transceiver bound here, and hands each row to one of that account's binds (the
one with the most room in its window). Several binds of one account share its outbox.

It wakes on the bus (a message changed status, an SMS arrived), when a receiver binds, when a
client answers, and when a row falls due; otherwise it polls every ``poll_interval``. The
acknowledgements that arrive while one is being recorded are recorded together, in the next
transaction (:class:`Acknowledgements`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from gatewayd.bus import Bus
from gatewayd.events import EVENTS, MessageReceived, MessageStatusChanged
from gatewayd.smpp.text import DefaultAlphabet
from gatewayd.store import Database, DatabaseUnavailable, utc_now
from gatewayd.store.group_commit import GroupCommit, Pending
from webui.smpp import outbox
from webui.smpp.connection import Connection, ConnectionLost, NotAcknowledged

log = structlog.get_logger("webui.smpp")

PURGE_EVERY = timedelta(hours=1)
STOP_GRACE = 10.0
MIN_PAUSE = 0.05
"""Shortest wait between rounds that sent nothing (rows due but locked by another process)."""


class Acknowledgements(GroupCommit[int, None]):
    """Outbox rows the client answered ``ESME_ROK``, marked done a group per transaction."""

    def __init__(self, db: Database) -> None:
        super().__init__("smpp-acknowledgements")
        self.db = db

    async def transaction(self, batch: list[Pending[int, None]]) -> list[None]:
        async with self.db.begin() as conn:
            await outbox.acknowledged(conn, [pending.item for pending in batch], utc_now())
        return [None] * len(batch)


class DeliveryPump:
    """The outbox sender of one SMPP server."""

    def __init__(
        self,
        db: Database,
        receivers: Callable[[], dict[int, list[Connection]]],
        *,
        poll_interval: float,
        redelivery_delay: float,
        response_timeout: float,
        commit_lag: float,
        default_alphabet: DefaultAlphabet = "gsm",
    ) -> None:
        self.db = db
        self.receivers = receivers
        self.poll_interval = poll_interval
        self.redelivery_delay = timedelta(seconds=redelivery_delay)
        self.lease = timedelta(seconds=response_timeout + 5.0)
        self.commit_lag = 0.0 if db.dialect_name == "sqlite" else commit_lag
        self.default_alphabet: DefaultAlphabet = default_alphabet
        self.wake = asyncio.Event()
        self.stopping = False
        self._reserved: Counter[Connection] = Counter()
        self._sends: set[asyncio.Task[None]] = set()
        self._purged_at = utc_now() - PURGE_EVERY
        self._acknowledgements = Acknowledgements(db)

    def poke(self) -> None:
        self.wake.set()

    async def run(self) -> None:
        while not self.stopping:
            pause = self.poll_interval
            try:
                pause = await self.round()
            except DatabaseUnavailable as exc:
                log.warning("SMPP outbox waiting for the database", reason=str(exc))
            except Exception:
                log.exception("SMPP outbox round failed")
            if self.stopping:
                break
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), pause)
            self.wake.clear()

    async def stop(self) -> None:
        self.stopping = True
        self.wake.set()
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=STOP_GRACE)

    async def round(self) -> float:
        """Derive, then send what is due; the seconds until the next round is needed."""
        now = utc_now()
        async with self.db.begin() as conn:
            derived = await outbox.derive_receipts(conn, now, self.commit_lag)
            derived += await outbox.derive_incoming(
                conn, now, self.commit_lag, self.default_alphabet
            )
            if now - self._purged_at >= PURGE_EVERY:
                self._purged_at = now
                await outbox.purge_done(conn, now)
        started = await self._dispatch()
        pause = self.poll_interval
        if derived.held_back:
            pause = min(pause, self.commit_lag / 2 or self.poll_interval)
        due = await self._next_due()
        if due is not None:
            pause = min(pause, max(MIN_PAUSE, (due - utc_now()).total_seconds()))
        return 0.0 if started else pause

    def _room(self, conn: Connection) -> int:
        return 0 if conn.closed else max(0, conn.limits.window - self._reserved[conn])

    async def _next_due(self) -> datetime | None:
        accounts = [a for a, conns in self.receivers().items() if any(map(self._room, conns))]
        if not accounts:
            return None
        async with self.db.read() as conn:
            return await outbox.next_due(conn, accounts)

    async def _dispatch(self) -> int:
        started = 0
        for account_id, conns in self.receivers().items():
            room = sum(self._room(conn) for conn in conns)
            if not room:
                continue
            async with self.db.begin() as db_conn:
                claimed = await outbox.claim(db_conn, account_id, utc_now(), room, self.lease)
            for row in claimed:
                target = max(conns, key=self._room)
                if not self._room(target):  # a bind closed meanwhile: due again at once
                    await self._settle(row.id, None, "no bind left", utc_now())
                    continue
                self._reserved[target] += 1
                task = asyncio.create_task(self._send(target, row))
                self._sends.add(task)
                task.add_done_callback(self._sends.discard)
                started += 1
        return started

    async def _send(self, target: Connection, row: outbox.Claimed) -> None:
        try:
            try:
                await target.request_encoded(row.body)
            except NotAcknowledged as refused:
                log.info(
                    "SMPP deliver_sm not acknowledged",
                    delivery=row.id,
                    system_id=target.system_id,
                    reason=refused.reason,
                )
                await self._settle(row.id, False, refused.reason, utc_now() + self.redelivery_delay)
            except ConnectionLost:
                await self._settle(row.id, False, "connection lost", utc_now())
            else:
                await self._settle(row.id, True, None, utc_now())
        finally:
            self._reserved[target] -= 1
            if self._reserved[target] <= 0:
                del self._reserved[target]
            self.wake.set()

    async def _settle(
        self, delivery_id: int, done: bool | None, reason: str | None, at: datetime
    ) -> None:
        try:
            if done:
                await self._acknowledgements.submit(delivery_id)
                return
            async with self.db.begin() as conn:
                await outbox.not_acknowledged(conn, delivery_id, at, reason or "")
        except DatabaseUnavailable as exc:  # the lease runs out and it is sent again
            log.warning("SMPP delivery not recorded", delivery=delivery_id, reason=str(exc))


async def wake_on_events(bus: Bus, pump: DeliveryPump) -> None:
    """Wake the pump on every status change and incoming SMS heard on the bus."""
    subscription = bus.subscribe(EVENTS)
    try:
        async for event in subscription:
            if isinstance(event, MessageStatusChanged | MessageReceived):
                pump.poke()
    finally:
        bus.unsubscribe(subscription)
