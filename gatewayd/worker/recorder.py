"""Group commit for the send pipelines of all modems: the database work each pipeline needs
between two exchanges is gathered and done in one transaction for every modem at once.

A step is what one modem's pipeline needs while the modem holds its current part: record the
parts answered since its last step (``sent`` with their MRs, messages rolled up after their
last part) and prepare the next part (the current message's next one, or the first part of a
newly claimed message, committed ``sending``). Steps that arrive while a transaction runs wait
for it and are all done in the next one, so with many modems a transaction serves many of them
and its fixed costs (``BEGIN``, ``COMMIT``, one statement per kind of change) are shared; with
one modem it is the pipeline's own transaction.

Each step keeps the guarantees of a transaction of its own: a part is committed ``sending``
before it is written, and a step sees its outcome only after the commit. If the transaction
fails, every step in it fails with that error and its owner handles it as before. A step whose
owner stopped waiting still has its answered parts recorded; a part prepared for it is given
back to the queue.

Every write of a transaction that claims, prepares or records carries the host's lease
condition (:data:`~gatewayd.queue.lease.LEASE_HELD`): the first such write share-locks the
lease row at the current epoch until the commit, and when the lease is not held there the
statement fails and the transaction writes nothing (:class:`~gatewayd.queue.lease.LeaseLost`)
— without a statement, or a round trip, of its own. A step made under another epoch (before
this host's work was taken over) is refused the same way before anything is sent.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue import (
    ClaimedMessage,
    ClaimedPart,
    ClaimedRow,
    Claimer,
    StatusChange,
    claim_for_modems,
    with_parts,
)
from gatewayd.queue import progress as p
from gatewayd.queue.lease import LeaseLost, LeaseRef, refused_lease
from gatewayd.queue.modem_state import count_sent
from gatewayd.store import Database, DatabaseUnavailable, utc_now
from gatewayd.store.group_commit import GroupCommit, ObserveBatch, Pending
from gatewayd.worker.fence import Fence

log = structlog.get_logger(__name__)

ClaimNext = Callable[[AsyncConnection, datetime, LeaseRef | None], Awaitable[list[ClaimedRow]]]
"""Claim (at most) one message for a modem, in the caller's transaction (under the lease,
when one is given)."""


@dataclass(frozen=True)
class Slot:
    """One part of a claimed message, committed ``sending`` and ready to be written."""

    message: ClaimedMessage
    index: int

    @property
    def part(self) -> ClaimedPart:
        return self.message.parts[self.index]

    @property
    def is_last(self) -> bool:
        return self.index + 1 == len(self.message.parts)

    @property
    def handed_over_before(self) -> bool:
        """True when an earlier part of this message already left through a modem."""
        return self.message.any_part_handed_over or self.index > 0


@dataclass(frozen=True)
class Answered:
    slot: Slot
    mr: int


@dataclass(frozen=True)
class ModemSide:
    """Who a step is for: the modem, its SIM, and how it claims."""

    modem: str
    imsi: str | None
    may_claim: Callable[[], bool]
    claim_next: ClaimNext
    claimer: Claimer | None = None
    """Set when the modem claims by the general rule: it then claims with the others
    (:func:`~gatewayd.queue.claim_for_modems`); ``claim_next`` otherwise."""


@dataclass
class StepResult:
    prepared: Slot | None = None
    changes: list[StatusChange] = field(default_factory=list)
    claimed: ClaimedMessage | None = None
    queue_empty: bool = False
    lease_lost: bool = False
    """The step was made under an epoch this host no longer holds: nothing of it was done."""


@dataclass(frozen=True)
class StepRequest:
    side: ModemSide
    pending: list[Answered]
    current: Slot | None
    epoch: int | None = None
    """The lease epoch the step's slots were prepared under (see :mod:`gatewayd.worker.fence`)."""


async def record_answered(
    conn: AsyncConnection,
    answered: Sequence[tuple[str, Answered]],
    *,
    now: datetime,
    lease: LeaseRef | None = None,
) -> dict[int, StatusChange]:
    """Record parts the modems answered (``(modem, answer)`` pairs) and roll up the messages
    whose last part this was; the status changes by message id. With ``lease``, the parts and
    the messages sent whole are written only while that lease is held."""
    if not answered:
        return {}
    await p.parts_sent(conn, [(a.slot.part.id, a.mr) for _, a in answered], now=now, lease=lease)
    await count_sent(conn, Counter(modem for modem, _ in answered), now=now)
    whole: list[int] = []
    others: list[int] = []
    for _, answer in answered:
        slot = answer.slot
        if not slot.is_last:
            continue
        message = slot.message
        if len(message.parts) == 1 and not message.any_part_handed_over:
            whole.append(message.id)
        else:
            others.append(message.id)
    sent_whole = await p.roll_up_whole_sends(conn, whole, now=now, lease=lease)
    changes = {c.message_id: c for c in sent_whole}
    for message_id in sorted(set(others)):
        change = await p.roll_up(conn, message_id, now=now)
        if change is not None:
            changes[message_id] = change
    return changes


class SendRecorder(GroupCommit[StepRequest, StepResult]):
    """Runs the steps of every modem's pipeline, those waiting together in one transaction."""

    def __init__(
        self, db: Database, *, observe: ObserveBatch | None = None, fence: Fence | None = None
    ) -> None:
        super().__init__("send-recorder", observe=observe)
        self.db = db
        self.fence = fence or Fence.unfenced()

    async def step(
        self,
        side: ModemSide,
        pending: list[Answered],
        current: Slot | None,
        *,
        epoch: int | None = None,
    ) -> StepResult:
        """Record ``pending``; prepare the part after ``current`` (or claim a message when
        there is none), all under the lease ``epoch``. Raises what the transaction raised
        (:class:`DatabaseUnavailable`; :class:`~gatewayd.queue.lease.LeaseLost` when the
        epoch is no longer this host's: then nothing of the step was done)."""
        result = await self.submit(StepRequest(side, pending, current, epoch))
        if result.lease_lost:
            raise LeaseLost(f"the lease of host {self.fence.host} is no longer at epoch {epoch}")
        return result

    async def transaction(self, batch: list[Pending[StepRequest, StepResult]]) -> list[StepResult]:
        results = [StepResult() for _ in batch]
        epoch = self.fence.epoch
        current = []
        for pending, result in zip(batch, results, strict=True):
            if self.fence.fenced and pending.item.epoch != epoch:
                result.lease_lost = True  # prepared under an epoch taken over since
            else:
                current.append((pending, result))
        if not current:
            return results
        if self.fence.fenced and epoch is None:
            raise LeaseLost(f"host {self.fence.host} holds no lease")
        try:
            async with self.db.begin() as conn:
                # Every write that claims, prepares or records carries the lease condition
                # (no statement of its own): see gatewayd.queue.lease.LEASE_HELD.
                held = self.fence.fenced and epoch is not None and conn.dialect.name != "sqlite"
                lease = LeaseRef(self.fence.host, epoch) if held and epoch is not None else None
                await self._steps(conn, current, lease)
        except DBAPIError as error:
            if refused_lease(error):
                raise LeaseLost(
                    f"the lease of host {self.fence.host} is no longer held at epoch {epoch}"
                ) from error
            raise
        return results

    async def _steps(
        self,
        conn: AsyncConnection,
        batch: list[tuple[Pending[StepRequest, StepResult], StepResult]],
        lease: LeaseRef | None,
    ) -> None:
        """Record the answered parts of ``batch`` and prepare what follows each step."""
        results = [result for _, result in batch]
        now = utc_now()
        steps = [pending.item for pending, _ in batch]
        answered = [(step.side.modem, a) for step in steps for a in step.pending]
        changes = await record_answered(conn, answered, now=now, lease=lease)
        for step, result in zip(steps, results, strict=True):
            for answer in step.pending:
                change = changes.get(answer.slot.message.id) if answer.slot.is_last else None
                if change is not None:
                    result.changes.append(change)
        live = [(p.item, r) for p, r in batch if not p.abandoned]
        claimers: list[tuple[StepRequest, StepResult]] = []
        for step, result in live:
            current = step.current
            if current is not None and not current.is_last:
                result.prepared = Slot(current.message, current.index + 1)
            else:
                claimers.append((step, result))
        await self._claim(conn, claimers, now, lease)
        await p.parts_sending(conn, list(self._handed_over(live)), now=now, lease=lease)

    async def _claim(
        self,
        conn: AsyncConnection,
        claimers: list[tuple[StepRequest, StepResult]],
        now: datetime,
        lease: LeaseRef | None,
    ) -> None:
        """A message for each claimer that may claim: those claiming by the general rule
        together, the others one by one; the parts read in one query for all."""
        while claimers:
            allowed = [(step, result) for step, result in claimers if step.side.may_claim()]
            together = [(s, r) for s, r in allowed if s.side.claimer is not None]
            alone = [(s, r) for s, r in allowed if s.side.claimer is None]
            if len(together) == 1:  # a claim of its own is one statement, not two
                alone, together = [*together, *alone], []
            claimed: list[tuple[StepResult, ClaimedRow, StepRequest]] = []
            if together:
                group = await claim_for_modems(
                    conn,
                    [s.side.claimer for s, _ in together if s.side.claimer],
                    now=now,
                    lease=lease,
                )
                for step, result in together:
                    row = group.claimed.get(step.side.modem)
                    if row is not None:
                        claimed.append((result, row, step))
                    elif group.exhausted:
                        result.queue_empty = True
                    else:
                        alone.append((step, result))
            for step, result in alone:
                rows = await step.side.claim_next(conn, now, lease)
                if rows:
                    claimed.append((result, rows[0], step))
                else:
                    result.queue_empty = True
            messages = {m.id: m for m in await with_parts(conn, [row for _, row, _ in claimed])}
            claimers = []
            for result, row, step in claimed:
                message = messages[row.id]
                if not message.parts:  # every part settled before: nothing left to send
                    change = await p.roll_up(conn, message.id, now=now)
                    if change is not None:
                        result.changes.append(change)
                    claimers.append((step, result))
                    continue
                result.claimed = message
                result.prepared = Slot(message, 0)

    @staticmethod
    def _handed_over(
        steps: Iterable[tuple[StepRequest, StepResult]],
    ) -> Iterable[p.PartHandedOver]:
        for step, result in steps:
            slot = result.prepared
            if slot is not None:
                yield p.PartHandedOver(
                    slot.part.id,
                    slot.message.id,
                    step.side.modem,
                    step.side.imsi,
                    first_of_try=slot.index == 0,
                )

    async def abandoned(self, items: list[tuple[StepRequest, StepResult]]) -> None:
        """Prepared parts nobody will write go back to the queue untouched."""
        slots = [result.prepared for _, result in items if result.prepared is not None]
        if not slots:
            return
        epoch = items[0][0].epoch
        with contextlib.suppress(DatabaseUnavailable):
            async with self.db.begin() as conn:
                await self.fence.guard(conn, epoch)
                await give_back(conn, slots, now=utc_now())
            return
        log.warning(
            "Database unavailable: prepared parts left to the housekeeping sweep", parts=len(slots)
        )


async def give_back(conn: AsyncConnection, slots: Sequence[Slot], *, now: datetime) -> None:
    """Return prepared, unwritten parts to the queue (their messages too, when the part was
    the first of this try)."""
    for slot in slots:
        await p.unprepare_part(conn, slot.part.id)
        if slot.index == 0:
            await p.unclaim(conn, slot.message.id, now=now, keep_modem=slot.handed_over_before)
