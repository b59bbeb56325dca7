"""Sending the outbox to bound receivers: one task per server derives new receipts and
incoming SMS (:mod:`webui.smpp.outbox`), claims what is due for each account that has a
receiver or transceiver bound here, and hands each row to one of that account's binds (the
one with the most room in its window). Several binds of one account share its outbox.

It derives when woken by the bus (a message changed status, an SMS arrived) or a bind, and
at least every ``poll_interval``. Rows are claimed a window at a time and sent to a bind in
one write; once half of an account's windows are free again the next batch is claimed, and
when a row falls due (a redelivery) a round runs then. Acknowledgements are recorded as the
answers arrive, many per ``UPDATE``: those that arrive while one group is being recorded go
in the next transaction (:class:`Acknowledgements`).
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
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.text import DefaultAlphabet
from gatewayd.store import Database, DatabaseUnavailable, utc_now
from gatewayd.store.group_commit import GroupCommit, Pending
from webui.smpp import outbox
from webui.smpp.connection import Connection, ConnectionLost, NotAcknowledged, refusal_of

log = structlog.get_logger("webui.smpp")

PURGE_EVERY = timedelta(hours=1)
STOP_GRACE = 10.0
MIN_PAUSE = 0.05
"""Shortest wait between rounds that sent nothing (rows due but locked by another process)."""


class Acknowledgements(GroupCommit[list[int], None]):
    """Outbox rows the client answered ``ESME_ROK``, marked done a group per transaction."""

    def __init__(self, db: Database) -> None:
        super().__init__("smpp-acknowledgements")
        self.db = db

    async def transaction(self, batch: list[Pending[list[int], None]]) -> list[None]:
        async with self.db.begin() as conn:
            ids = [i for pending in batch for i in pending.item]
            await outbox.acknowledged(conn, ids, utc_now())
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
        self._derive_now = True
        self._derive_at = utc_now()
        self._acknowledgements = Acknowledgements(db)

    def poke(self) -> None:
        """Something new may be there to derive (an event, a bind): a round at once."""
        self._derive_now = True
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
        """Derive (when poked or every ``poll_interval``), then send what is due; the seconds
        until the next round is needed. Answers that free room in a window wake a round that
        only sends."""
        now = utc_now()
        if self._derive_now or now >= self._derive_at:
            await self._derive(now)
        started, idle = await self._dispatch()
        if started or self._derive_now:
            return 0.0
        pause = max(0.0, (self._derive_at - utc_now()).total_seconds())
        due = await self._next_due(idle)
        if due is not None:
            pause = min(pause, max(MIN_PAUSE, (due - utc_now()).total_seconds()))
        return pause

    async def _derive(self, now: datetime) -> None:
        self._derive_now = False
        self._derive_at = now + timedelta(seconds=self.poll_interval)
        async with self.db.begin() as conn:
            derived = await outbox.derive_receipts(conn, now, self.commit_lag)
            derived += await outbox.derive_incoming(
                conn, now, self.commit_lag, self.default_alphabet
            )
            if now - self._purged_at >= PURGE_EVERY:
                self._purged_at = now
                await outbox.purge_done(conn, now)
        if derived.more:
            self._derive_now = True
        elif derived.held_back:
            lag = timedelta(seconds=self.commit_lag / 2 or self.poll_interval)
            self._derive_at = min(self._derive_at, now + lag)

    def _room(self, conn: Connection) -> int:
        if conn.closed:
            return 0
        return max(0, min(conn.limits.window - self._reserved[conn], conn.free_slots))

    async def _next_due(self, accounts: list[int]) -> datetime | None:
        if not accounts:
            return None
        async with self.db.read() as conn:
            return await outbox.next_due(conn, accounts)

    async def _dispatch(self) -> tuple[int, list[int]]:
        """Claim and send for every account with room; (rows started, accounts that had
        room but nothing due). An account with answers still awaited is refilled once half
        its windows are free, so claims come in batches."""
        started = 0
        idle: list[int] = []
        for account_id, conns in self.receivers().items():
            room = sum(self._room(conn) for conn in conns)
            window = sum(conn.limits.window for conn in conns if not conn.closed)
            waiting = any(self._reserved[conn] for conn in conns)
            if not room or (waiting and room < max(1, window // 2)):
                continue
            async with self.db.begin() as db_conn:
                claimed = await outbox.claim(db_conn, account_id, utc_now(), room, self.lease)
            if not claimed:
                idle.append(account_id)
            started += await self._hand_out(conns, claimed)
        return started, idle

    async def _hand_out(self, conns: list[Connection], claimed: list[outbox.Claimed]) -> int:
        """Send ``claimed`` over the binds with the most room, a batch per bind."""
        started = 0
        while claimed:
            target = max(conns, key=self._room)
            room = self._room(target)
            if not room:  # binds closed meanwhile: due again at once
                for row in claimed:
                    await self._failed(row.id, "no bind left", utc_now())
                break
            batch, claimed = claimed[:room], claimed[room:]
            self._reserved[target] += len(batch)
            task = asyncio.create_task(self._send(target, batch))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
            started += len(batch)
        return started

    async def _send(self, target: Connection, rows: list[outbox.Claimed]) -> None:
        """Send ``rows`` to ``target`` in one write and settle each by its answer: the
        acknowledged ones are marked done together, as their answers arrive."""
        try:
            futures = target.send_requests([row.body for row in rows])
        except ConnectionLost:
            self._release(target, len(rows))
            for row in rows:
                await self._failed(row.id, "connection lost", utc_now())
            self.wake.set()
            return
        pending = dict(zip(futures, rows, strict=True))
        try:
            while pending:
                done, _ = await asyncio.wait(set(pending), return_when=asyncio.FIRST_COMPLETED)
                acknowledged: list[int] = []
                for future in done:
                    row = pending.pop(future)
                    self._release(target, 1)
                    await self._answered(target, row, future, acknowledged)
                if acknowledged:
                    await self._acknowledged(acknowledged)
                self.wake.set()
        finally:
            self._release(target, len(pending))
            self.wake.set()

    def _release(self, target: Connection, count: int) -> None:
        self._reserved[target] -= count
        if self._reserved[target] <= 0:
            del self._reserved[target]

    async def _answered(
        self,
        target: Connection,
        row: outbox.Claimed,
        future: asyncio.Future[Pdu],
        acknowledged: list[int],
    ) -> None:
        try:
            refused = refusal_of(future.result())
        except NotAcknowledged as error:
            refused = error
        except ConnectionLost:
            await self._failed(row.id, "connection lost", utc_now())
            return
        if refused is None:
            acknowledged.append(row.id)
            return
        log.info(
            "SMPP deliver_sm not acknowledged",
            delivery=row.id,
            system_id=target.system_id,
            reason=refused.reason,
        )
        await self._failed(row.id, refused.reason, utc_now() + self.redelivery_delay)

    async def _acknowledged(self, ids: list[int]) -> None:
        try:
            await self._acknowledgements.submit(ids)
        except DatabaseUnavailable as exc:  # the lease runs out and they are sent again
            log.warning("SMPP deliveries not recorded", deliveries=len(ids), reason=str(exc))

    async def _failed(self, delivery_id: int, reason: str, retry_at: datetime) -> None:
        """Not answered ESME_ROK: due again at ``retry_at``."""
        try:
            async with self.db.begin() as conn:
                await outbox.not_acknowledged(conn, delivery_id, retry_at, reason)
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
