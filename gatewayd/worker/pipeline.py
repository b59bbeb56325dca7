"""Sending through one modem, part after part, under the at-most-once rule, with the modem
kept busy.

A part is committed ``sending`` before its AT+CMGS is written; whatever happens next is known
or visibly ``unknown``. Prepared ahead, the database work between two exchanges is done while
the modem holds the current part: one transaction records the previous part's answer (``sent``
with its MR, the message rolled up after its last part) and prepares the next part (claiming
the next message when needed, and committing that part ``sending``). When the modem answers,
the next AT+CMGS is written at once. In turn, that transaction runs after the answer, and the
next part is written after its commit.

The price of preparing ahead is doubt at a crash: the prepared part is committed ``sending``
about one modem latency before it is written, and if gatewayd dies in that window, crash
recovery marks it ``unknown`` although it never left, and no status report will ever settle
it. The part on the wire is ``unknown`` too, but if it left, its report settles it
(:mod:`gatewayd.queue.unknown_parts`) — provided the modem keeps reports that arrive while gatewayd
is down. So ``prepare_ahead = "auto"`` prepares ahead only while the part on the wire asks for
a report and the modem keeps its reports (stored ``+CDSI``, or polled); with direct ``+CDS``
reports, or a part that asks for none, it works in turn. Either way at most one part per modem
per crash stays ``unknown`` once the reports are in, never a part sent twice. When the current
part fails, the prepared one goes back to the queue. What a modem error means for the message
is decided by the error's :class:`~gatewayd.modem.errors.ErrorAction`.

Each run works under the host's lease epoch (:mod:`gatewayd.worker.fence`): its transactions
hold the lease at that epoch, and every part is written only if the fence, asked right before
the AT+CMGS and again before the PDU, still allows that epoch. A part the fence stopped goes
back to the queue; when the lease was taken over, the run ends with
:class:`~gatewayd.queue.lease.LeaseLost` and what it held is the taking host's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.config import Backoff, PrepareAhead, RetryPolicy
from gatewayd.modem.errors import (
    ErrorAction,
    ModemError,
    SendFenced,
    SendGuard,
    SendOutcomeUnknown,
)
from gatewayd.modem.interface import QueuedSend
from gatewayd.queue import StatusChange
from gatewayd.queue import progress as p
from gatewayd.queue.lease import LeaseLost
from gatewayd.store import Database, DatabaseUnavailable, utc_now
from gatewayd.worker.fence import Fence
from gatewayd.worker.recorder import (
    Answered,
    ModemSide,
    SendRecorder,
    Slot,
    give_back,
    record_answered,
)

log = structlog.get_logger(__name__)


class SendPdu(Protocol):
    def __call__(
        self,
        pdu_hex: str,
        tpdu_length: int,
        *,
        on_written: Callable[[], None] | None = None,
        guard: SendGuard | None = None,
    ) -> Awaitable[int]: ...


class SendPduNext(Protocol):
    def __call__(
        self,
        pdu_hex: str,
        tpdu_length: int,
        *,
        on_written: Callable[[], None] | None = None,
        guard: SendGuard | None = None,
    ) -> QueuedSend | None: ...


@dataclass
class _Queued:
    """The prepared part, queued to be written the moment the modem answers the current one."""

    slot: Slot
    send: QueuedSend
    written: asyncio.Event


Publish = Callable[[StatusChange], Awaitable[None]]

NEEDS_ATTENTION = (ErrorAction.REINITIALISE, ErrorAction.TRY_OTHER_MODEM)
DATABASE_BACKOFF = Backoff(0.1, 5.0)
"""Waits between tries to record what a modem answered while the database is unavailable."""
AHEAD_GRACE = 5.0
"""Seconds an interrupted exchange waits for the transaction running beside it."""


class ModemNeedsAttention(Exception):
    """Raised after the message is settled, when the modem itself must be re-initialised."""

    def __init__(self, error: ModemError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class RecordProgress:
    """How many written parts have their outcome committed. A status report can overtake the
    commit of its own ``+CMGS`` answer (a fast SMSC): until that commit the part has no MR and
    the report would match nothing, so it waits for the parts written before it arrived."""

    written: int = 0
    settled: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def add_settled(self, count: int) -> None:
        if count:
            async with self.changed:
                self.settled += count
                self.changed.notify_all()

    async def forget_unsettled(self) -> None:
        """A session ended with parts unsettled: they are left to crash recovery."""
        async with self.changed:
            self.settled = self.written
            self.changed.notify_all()

    async def wait_settled(self, written: int) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: self.settled >= written)


@dataclass(frozen=True)
class ModemLink:
    """The modem side: how the pipeline writes parts to its modem."""

    send_pdu: SendPdu
    send_pdu_next: SendPduNext | None = None
    """Queues the prepared part behind the current one, written when the modem answers
    (:meth:`~gatewayd.modem.interface.ModemDriver.send_pdu_next`); None to write it afterwards."""
    reports_kept: bool = True
    """The modem keeps status reports that arrive while gatewayd is away (stored or polled,
    not direct ``+CDS``)."""


@dataclass
class QueueLink:
    """The queue side: where parts are claimed, prepared and recorded, and what this modem's
    session holds meanwhile."""

    db: Database
    in_flight: set[int]
    """Messages this session works on (crash recovery leaves them alone)."""
    progress: RecordProgress = field(default_factory=RecordProgress)
    recorder: SendRecorder | None = None
    """Shared by the pipelines of all modems (group commit); a private one when None."""
    fence: Fence = field(default_factory=Fence.unfenced)
    """This host's lease: parts are written, and recorded, only under the epoch they were
    prepared under while it is valid (:mod:`gatewayd.worker.fence`)."""


@dataclass(frozen=True)
class SendPolicy:
    """The settings side: retries, preparing ahead, and the sending window's count."""

    retry: RetryPolicy
    prepare_ahead: PrepareAhead = "always"
    """When to prepare the next part (committed ``sending``) while the current one is on the
    wire rather than once the modem has answered; ``auto``: see the module docstring."""
    on_part_written: Callable[[], None] = lambda: None


@dataclass
class SendPipeline:
    """The send loop of one modem session: claims, prepares, writes and records parts.

    ``side`` says which modem and SIM the parts go through and how it claims (the claim rules
    and whether it may claim now), ``link`` how parts reach the modem, ``queue`` where they
    are recorded, ``policy`` the settings, and ``publish`` announces status changes."""

    side: ModemSide
    link: ModemLink
    queue: QueueLink
    policy: SendPolicy
    publish: Publish
    _queue_empty: bool = False
    _queued: _Queued | None = None
    _epoch: int | None = None
    _may_write: SendGuard = field(default=lambda: False, repr=False)

    @property
    def epoch(self) -> int | None:
        """The lease epoch of the current (or last) run."""
        return self._epoch

    def __post_init__(self) -> None:
        if self.queue.recorder is None:
            self.queue.recorder = SendRecorder(self.queue.db, fence=self.queue.fence)

    async def run(self) -> bool:
        """Send until nothing more may be claimed. False when the last claim found the queue
        empty (wait for a wake-up), True when it is worth claiming again at once. Raises
        :class:`~gatewayd.queue.lease.LeaseLost` when this host's lease was taken over: what
        the run held is the taking host's now."""
        self._queue_empty = False
        self._epoch = epoch = self.queue.fence.epoch
        fence = self.queue.fence
        # The send guard of this run, asked right before each AT+CMGS and its PDU: true only
        # while the lease is held, and still at this run's epoch.
        self._may_write = lambda: fence.valid(epoch)
        slot = await self._claim_first()
        pending: list[Answered] = []
        queued: _Queued | None = None
        while slot is not None:
            if queued is not None and not queued.send.began:
                queued = None  # not written: it goes out the ordinary way
            if queued is None and slot.index == 0 and not self.side.may_claim():
                # Prepared ahead, then stopping, a restart or the rate limit came first.
                await self._give_back(slot, pending)
                return True
            if self._ahead(slot):
                slot, pending, queued = await self._exchange(slot, pending, queued)
            else:
                slot, pending = await self._exchange_in_turn(slot, pending, queued)
                queued = None
        await self._record_durably(pending)
        return not self._queue_empty

    async def _exchange(
        self, slot: Slot, pending: list[Answered], queued: _Queued | None
    ) -> tuple[Slot | None, list[Answered], _Queued | None]:
        """Write ``slot`` (unless ``queued`` already did) while recording ``pending`` and
        preparing what follows it."""
        self.queue.progress.written += 1
        self.policy.on_part_written()
        exchange: asyncio.Future[int]
        if queued is not None:
            written, exchange = queued.written, queued.send.answer
        else:
            written = asyncio.Event()
            exchange = asyncio.ensure_future(
                self.link.send_pdu(
                    slot.part.pdu,
                    slot.part.tpdu_length,
                    on_written=written.set,
                    guard=self._may_write,
                )
            )
        ahead = asyncio.ensure_future(self._advance_once_written(pending, slot, written, exchange))
        try:
            mr = await exchange
        except ModemError as error:
            following, pending = await self._settle_ahead(ahead, pending)
            following, pending = await self._unless_sent_anyway(following, pending)
            given_back = await self._settle_failure(slot, error, following, pending)
            if isinstance(error, SendOutcomeUnknown) or error.action in NEEDS_ATTENTION:
                raise ModemNeedsAttention(error) from error
            if following is not None and not given_back:
                return following, [], None
            return None, [], None
        except BaseException:
            self._withdraw_queued()
            # Let the transaction in progress record what was already answered.
            await asyncio.wait({ahead}, timeout=AHEAD_GRACE)
            if ahead.done() and not ahead.cancelled():
                ahead.exception()  # retrieved: the exception in flight is the one that counts
            ahead.cancel()
            raise
        following, pending = await self._settle_ahead(ahead, pending)
        return following, [*pending, Answered(slot, mr)], self._take_queued(following)

    def _ahead(self, slot: Slot) -> bool:
        """Whether to prepare the next part while ``slot`` is on the wire."""
        if self.policy.prepare_ahead == "auto":
            return self.link.reports_kept and slot.message.status_report
        return self.policy.prepare_ahead == "always"

    async def _exchange_in_turn(
        self, slot: Slot, pending: list[Answered], queued: _Queued | None
    ) -> tuple[Slot | None, list[Answered]]:
        """Write ``slot`` (unless ``queued`` already did); once the modem has answered, record
        it with ``pending`` and prepare what follows in one transaction. The following slot,
        and what is still unrecorded (when the database failed: the caller records it)."""
        self.queue.progress.written += 1
        self.policy.on_part_written()
        try:
            if queued is not None:
                mr = await queued.send.answer
            else:
                mr = await self.link.send_pdu(
                    slot.part.pdu, slot.part.tpdu_length, guard=self._may_write
                )
        except ModemError as error:
            await self._settle_failure(slot, error, None, pending)
            if isinstance(error, SendOutcomeUnknown) or error.action in NEEDS_ATTENTION:
                raise ModemNeedsAttention(error) from error
            return None, []
        answered = [*pending, Answered(slot, mr)]
        try:
            return await self._advance(answered, slot), []
        except LeaseLost:
            await self._lease_lost(answered)
            raise
        except DatabaseUnavailable as error:
            log.warning(
                "Database unavailable while recording a part",
                modem=self.side.modem,
                error=str(error),
            )
            return None, answered

    def _take_queued(self, following: Slot | None) -> _Queued | None:
        queued, self._queued = self._queued, None
        if queued is not None and queued.slot is following:
            return queued
        return None

    def _withdraw_queued(self) -> None:
        queued, self._queued = self._queued, None
        if queued is not None and not queued.send.started.done():
            queued.send.started.cancel()

    async def _unless_sent_anyway(
        self, following: Slot | None, pending: list[Answered]
    ) -> tuple[Slot | None, list[Answered]]:
        """After a failed send, the part queued behind it was refused unwritten, so it can go
        back to the queue. Should it have been written all the same, it is not given back:
        its answer is awaited and recorded (no answer leaves it to crash recovery)."""
        queued = self._take_queued(following)
        if queued is None or not queued.send.began:
            return following, pending
        log.error("A part queued behind a failed send was written", modem=self.side.modem)
        try:
            mr = await queued.send.answer
        except ModemError:
            return None, pending
        return None, [*pending, Answered(queued.slot, mr)]

    async def _settle_ahead(
        self, ahead: asyncio.Future[Slot | None], pending: list[Answered]
    ) -> tuple[Slot | None, list[Answered]]:
        """The prepared slot, and what is still unrecorded (all of it if the database failed)."""
        try:
            return await ahead, []
        except DatabaseUnavailable as error:
            log.warning(
                "Database unavailable while preparing the next part",
                modem=self.side.modem,
                error=str(error),
            )
            return None, pending

    # -- transactions ----------------------------------------------------------------------

    async def _advance_once_written(
        self,
        pending: list[Answered],
        slot: Slot,
        written: asyncio.Event,
        exchange: asyncio.Future[int],
    ) -> Slot | None:
        """:meth:`_advance`, started once the PDU is with the modem: work done while the
        prompt is awaited would delay the PDU itself."""
        waiter: asyncio.Future[object] = asyncio.ensure_future(written.wait())
        watched: set[asyncio.Future[object]] = {waiter, exchange}  # type: ignore[arg-type]
        try:
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        prepared = await self._advance(pending, slot)
        if prepared is not None and not exchange.done():
            self._queue_behind(prepared)
        return prepared

    def _queue_behind(self, prepared: Slot) -> None:
        """Queue ``prepared`` behind the part in flight when the driver can and it may go."""
        if self.link.send_pdu_next is None or (prepared.index == 0 and not self.side.may_claim()):
            return
        written = asyncio.Event()
        part = prepared.part
        try:
            send = self.link.send_pdu_next(
                part.pdu, part.tpdu_length, on_written=written.set, guard=self._may_write
            )
        except ModemError:
            return  # the ordinary send meets the same error and settles it
        if send is not None:
            self._queued = _Queued(prepared, send, written)

    async def _claim_first(self) -> Slot | None:
        return await self._advance([], None)

    async def _advance(self, pending: list[Answered], current: Slot | None) -> Slot | None:
        """Record ``pending``; prepare the part after ``current`` (or the first part of a newly
        claimed message). One transaction, shared with the other modems' pipelines."""
        assert self.queue.recorder is not None
        result = await self.queue.recorder.step(self.side, pending, current, epoch=self._epoch)
        self._queue_empty = result.queue_empty
        prepared = result.prepared
        if prepared is not None:
            self.queue.in_flight.add(prepared.message.id)
        await self._after_record(pending, result.changes)
        claimed = result.claimed
        if claimed is not None and prepared is not None and prepared.message is claimed:
            await self._announce(StatusChange(claimed.id, "sending"))
        return prepared

    async def _record(
        self, conn: AsyncConnection, pending: list[Answered], now: datetime
    ) -> list[StatusChange]:
        changes = await record_answered(conn, [(self.side.modem, a) for a in pending], now=now)
        return list(changes.values())

    async def _after_record(self, pending: list[Answered], changes: list[StatusChange]) -> None:
        for answered in pending:
            slot = answered.slot
            log.info(
                "Message sent",
                message_id=slot.message.id,
                part=slot.part.seq,
                parts=slot.part.total,
                modem=self.side.modem,
                mr=answered.mr,
            )
            if slot.is_last:
                self.queue.in_flight.discard(slot.message.id)
        await self.queue.progress.add_settled(len(pending))
        for change in changes:
            await self._announce(change)

    async def _give_back(self, slot: Slot, pending: list[Answered]) -> None:
        """Record ``pending`` and return the prepared, unwritten ``slot`` to the queue."""
        await self._record_durably(pending)
        async with self.queue.db.begin() as conn:
            await self.queue.fence.guard(conn, self._epoch)
            await give_back(conn, [slot], now=utc_now())
        self.queue.in_flight.discard(slot.message.id)
        await self._announce(StatusChange(slot.message.id, "queued"))

    async def _record_durably(self, pending: list[Answered]) -> None:
        """The modem already sent these parts, so a database outage is waited out, not lost."""
        if not pending:
            return
        for delay in DATABASE_BACKOFF.delays():
            try:
                async with self.queue.db.begin() as conn:
                    await self.queue.fence.guard(conn, self._epoch)
                    changes = await self._record(conn, pending, utc_now())
                break
            except LeaseLost:
                await self._lease_lost(pending)
                raise
            except DatabaseUnavailable as error:
                log.warning(
                    "Database unavailable after a send; retrying",
                    modem=self.side.modem,
                    parts=len(pending),
                    error=str(error),
                )
                await asyncio.sleep(delay)
        await self._after_record(pending, changes)

    async def _settle_failure(
        self,
        slot: Slot,
        error: ModemError,
        following: Slot | None,
        pending: list[Answered],
    ) -> bool:
        """One transaction: what is still unrecorded, the prepared part given back when it
        cannot go out, and the failed part's message settled by the error's action. True
        when ``following`` was given back."""
        needs_attention = isinstance(error, SendOutcomeUnknown) or error.action in NEEDS_ATTENTION
        given_back = following is not None and (
            needs_attention
            or isinstance(error, SendFenced)
            or following.message.id == slot.message.id
        )
        for delay in DATABASE_BACKOFF.delays():
            now = utc_now()
            try:
                async with self.queue.db.begin() as conn:
                    await self.queue.fence.guard(conn, self._epoch)
                    changes = await self._record(conn, pending, now)
                    if following is not None and given_back:
                        await p.unprepare_part(conn, following.part.id)
                        if following.message.id != slot.message.id:
                            await p.unclaim(
                                conn,
                                following.message.id,
                                now=now,
                                keep_modem=following.handed_over_before,
                            )
                    change = await self._settled(conn, slot, error, now)
                break
            except LeaseLost:
                self.queue.in_flight.discard(slot.message.id)
                await self.queue.progress.add_settled(1)
                await self._lease_lost(pending)
                raise
            except DatabaseUnavailable as db_error:
                log.warning(
                    "Database unavailable after a send error; retrying",
                    modem=self.side.modem,
                    error=str(db_error),
                )
                await asyncio.sleep(delay)
        if following is not None and given_back:
            self.queue.in_flight.discard(following.message.id)
        self.queue.in_flight.discard(slot.message.id)
        await self.queue.progress.add_settled(1)
        await self._after_record(pending, changes)
        await self._announce(change)
        if following is not None and given_back and following.message.id != slot.message.id:
            await self._announce(StatusChange(following.message.id, "queued"))
        return given_back

    async def _settled(
        self, conn: AsyncConnection, slot: Slot, error: ModemError, now: datetime
    ) -> StatusChange | None:
        if isinstance(error, SendOutcomeUnknown):
            return await self._outcome_unknown(conn, slot, error, now)
        if isinstance(error, SendFenced):
            return await self._not_written(conn, slot, now)
        return await self._refused(conn, slot, error, now)

    async def _not_written(
        self, conn: AsyncConnection, slot: Slot, now: datetime
    ) -> StatusChange | None:
        """The lease stopped the part before it was written (the fence closed: the lease was
        not renewed in time, but the database still takes this epoch's writes): it goes back
        as if it had never been prepared, and its message keeps its modem only if a part of it
        left before."""
        log.warning(
            "Part not written: this host's lease was not renewed in time",
            modem=self.side.modem,
            message_id=slot.message.id,
        )
        await p.unprepare_part(conn, slot.part.id)
        await p.unclaim(conn, slot.message.id, now=now, keep_modem=slot.handed_over_before)
        return StatusChange(slot.message.id, "queued")

    async def _lease_lost(self, answered: list[Answered]) -> None:
        """The lease was taken over: what the modem answered is not recorded (the host that
        took over made those parts ``unknown``; their reports may still settle them)."""
        log.error(
            "Lease lost: parts this modem sent are left to the host that took over",
            modem=self.side.modem,
            parts=len(answered),
            message_ids=sorted({a.slot.message.id for a in answered}),
        )
        for a in answered:
            self.queue.in_flight.discard(a.slot.message.id)
        await self.queue.progress.add_settled(len(answered))

    async def _outcome_unknown(
        self, conn: AsyncConnection, slot: Slot, error: ModemError, now: datetime
    ) -> StatusChange | None:
        message = slot.message
        reason = f"the modem took the part but gave no answer: {error}"
        log.warning(
            "Send outcome unknown", modem=self.side.modem, message_id=message.id, error=str(error)
        )
        await p.part_unknown(conn, slot.part.id, message.id, reason=reason, now=now)
        change = await p.roll_up(conn, message.id, now=now)
        if change is None:
            change = await p.retry_later(
                conn, message.id, delay=timedelta(0), reason=reason, now=now, keep_modem=True
            )
        return change

    async def _refused(
        self, conn: AsyncConnection, slot: Slot, error: ModemError, now: datetime
    ) -> StatusChange:
        message = slot.message
        reason = str(error)
        action = error.action
        handed_over = slot.handed_over_before
        log.info(
            "Send refused",
            modem=self.side.modem,
            message_id=message.id,
            error=reason,
            action=action.name.lower(),
            attempt=message.attempts,
        )
        await p.part_not_sent(conn, slot.part.id)
        if action is ErrorAction.FAIL_MESSAGE:
            return await p.fail_message(conn, message.id, reason=reason, now=now)
        if message.attempts >= self.policy.retry.max_attempts and action is ErrorAction.RETRY_LATER:
            return await p.fail_message(
                conn,
                message.id,
                reason=f"gave up after {message.attempts} attempts: {reason}",
                now=now,
            )
        if action is ErrorAction.RETRY_LATER:
            delay = timedelta(seconds=self.policy.retry.delay_before(message.attempts + 1))
            return await p.retry_later(
                conn, message.id, delay=delay, reason=reason, now=now, keep_modem=handed_over
            )
        # The modem is at fault: another modem may take it now, unless parts already left
        # through this one (the recipient reassembles parts from one sender only).
        return await p.retry_later(
            conn,
            message.id,
            delay=timedelta(0),
            reason=reason,
            now=now,
            avoid_modem=self.side.modem,
            keep_modem=handed_over,
        )

    async def _announce(self, change: StatusChange | None) -> None:
        if change is not None:
            await self.publish(change)
