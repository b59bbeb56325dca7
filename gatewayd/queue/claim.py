"""Taking messages off the queue for one modem, and giving back what a crash left behind.

A claim is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING``:
on PostgreSQL concurrent claimers (other modems, other gatewayd hosts) skip each other's rows,
so no message is ever handed to two modems. Modems claiming at the same moment claim together
(:func:`claim_for_modems`): one locked look-up, the messages shared out in Python under the
same rules, one update. SQLite ignores the locking clause, which is fine:
it has one writer at a time, and embedded mode has one process.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Update,
    and_,
    bindparam,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.lease import LEASE_HELD, LeaseRef
from gatewayd.queue.progress import StatusChange, bound, roll_up
from gatewayd.store import MessageStatus, PartStatus, message_events, message_parts, messages

AVOID_FOR = timedelta(seconds=30)


@dataclass(frozen=True)
class ClaimedPart:
    id: int
    seq: int
    total: int
    pdu: str
    tpdu_length: int


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    recipient: str
    attempts: int
    status_report: bool
    parts: tuple[ClaimedPart, ...]
    """The parts still to send, in order (earlier parts may have gone out on a previous try)."""
    any_part_handed_over: bool
    """True when some part of this message already left through a modem."""


@dataclass(frozen=True)
class ClaimedRow:
    """A claimed message before its parts are read."""

    id: int
    recipient: str
    attempts: int
    status_report: bool
    priority: int


async def claim_due(
    conn: AsyncConnection,
    *,
    host: str,
    modem: str,
    prefixes: tuple[str, ...] = (),
    own_number: str | None = None,
    now: datetime,
    limit: int = 1,
    avoid_for: timedelta = AVOID_FOR,
    lease: LeaseRef | None = None,
) -> list[ClaimedRow]:
    """Claim up to ``limit`` due messages this modem may send: their rows, highest priority
    first (:func:`with_parts` reads their parts, for several claims at once).

    A modem that knows its own number leaves messages to that number to the other modems. A
    modem that failed a message (its ``avoid_modem``) leaves it to the others for
    ``avoid_for``, then takes it again: with one modem, or all others busy or gone, the
    message must not wait forever. With ``lease``, claimed only while that lease is held
    (:data:`~gatewayd.queue.lease.LEASE_HELD`).
    """
    statement = _claim_statement(modem, tuple(prefixes), own_number, limit, lease is not None)
    params: dict[str, Any] = {"b_host": host, "b_now": now, "b_avoided_before": now - avoid_for}
    claimed = await conn.execute(statement, params | (lease.params() if lease else {}))
    rows = [
        ClaimedRow(row.id, row.recipient, row.attempts, row.status_report, row.priority)
        for row in claimed
    ]
    return sorted(rows, key=lambda r: (-r.priority, r.id))


async def with_parts(conn: AsyncConnection, rows: list[ClaimedRow]) -> list[ClaimedMessage]:
    """The claimed messages of ``rows`` with their parts still to send, in one query."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    parts = await conn.execute(_CLAIMED_PARTS, {"b_ids": ids})
    todo: dict[int, list[ClaimedPart]] = {i: [] for i in ids}
    handed: set[int] = set()
    for part in parts:
        if part.status == PartStatus.QUEUED.value:
            todo[part.message_id].append(
                ClaimedPart(part.id, part.seq, part.total, part.pdu, part.tpdu_length)
            )
        else:
            handed.add(part.message_id)
    return [
        ClaimedMessage(
            id=row.id,
            recipient=row.recipient,
            attempts=row.attempts,
            status_report=row.status_report,
            parts=tuple(todo[row.id]),
            any_part_handed_over=row.id in handed,
        )
        for row in rows
    ]


_CLAIMED_PARTS = (
    select(
        message_parts.c.id,
        message_parts.c.message_id,
        message_parts.c.seq,
        message_parts.c.total,
        message_parts.c.pdu,
        message_parts.c.tpdu_length,
        message_parts.c.status,
    )
    .where(message_parts.c.message_id.in_(bindparam("b_ids", expanding=True)))
    .order_by(message_parts.c.message_id, message_parts.c.seq)
)


def _due(now: ColumnElement[Any]) -> list[ColumnElement[bool]]:
    """A message waiting for a modem, due at ``now``."""
    return [
        messages.c.status == MessageStatus.QUEUED.value,
        or_(messages.c.send_at.is_(None), messages.c.send_at <= now),
        or_(messages.c.next_attempt_at.is_(None), messages.c.next_attempt_at <= now),
    ]


def _may_take(
    modem: ColumnElement[Any], own_number: ColumnElement[Any] | None
) -> list[ColumnElement[bool]]:
    """The claim rules: whether ``modem`` (whose SIM's number is ``own_number``) may take a
    due message. Not a message bound to another modem, not one to its own number, not one it
    failed itself until ``b_avoided_before``."""
    rules = [
        or_(messages.c.modem.is_(None), messages.c.modem == modem),
        or_(messages.c.assigned_modem.is_(None), messages.c.assigned_modem == modem),
        or_(
            messages.c.avoid_modem.is_(None),
            messages.c.avoid_modem != modem,
            messages.c.updated_at <= bound("b_avoided_before", messages.c.updated_at),
        ),
    ]
    if own_number is not None:
        rules.append(messages.c.recipient != own_number)
    return rules


@functools.lru_cache(maxsize=1024)
def _claim_statement(
    modem: str, prefixes: tuple[str, ...], own_number: str | None, limit: int, held: bool
) -> Update:
    """The claim of one modem, built once: only the host and the clock vary between calls."""
    now = bound("b_now", messages.c.updated_at)
    due = (
        select(messages.c.id)
        .where(*_due(now), *_may_take(literal(modem), literal(own_number) if own_number else None))
        .order_by(messages.c.priority.desc(), messages.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if prefixes:
        due = due.where(or_(*(messages.c.recipient.startswith(p) for p in prefixes)))
    claim = _claiming(messages.c.id.in_(due.scalar_subquery()))
    return claim.where(LEASE_HELD) if held else claim


def _claiming(which: ColumnElement[bool]) -> Update:
    """Mark the messages ``which`` picks out as claimed by ``b_host`` at ``b_now``."""
    now = bound("b_now", messages.c.updated_at)
    return (
        update(messages)
        .where(which)
        .values(
            status=MessageStatus.SENDING.value,
            claimed_by=bound("b_host", messages.c.claimed_by),
            claimed_at=now,
            updated_at=now,
            attempts=messages.c.attempts + 1,
        )
        .returning(
            messages.c.id,
            messages.c.recipient,
            messages.c.attempts,
            messages.c.status_report,
            messages.c.priority,
        )
    )


@dataclass(frozen=True)
class Recovery:
    unknown_parts: int
    requeued_messages: int
    unknown_message_ids: tuple[int, ...]
    changes: tuple[StatusChange, ...] = ()
    """The status of every message given back: ``queued``, or what its parts add up to."""


CRASH_ERROR = "gatewayd stopped before the modem answered: the part may have been sent"
CRASH_DETAIL = "gatewayd stopped while the part was with the modem"


async def recover_after_crash(
    conn: AsyncConnection,
    *,
    host: str,
    now: datetime,
    in_flight: Collection[int] = (),
    claimed_before: datetime | None = None,
    error: str = CRASH_ERROR,
    detail: str = CRASH_DETAIL,
) -> Recovery:
    """Settle what ``host`` left in flight when it last stopped without finishing (this host
    after a crash, or another host whose lease expired: :mod:`gatewayd.queue.takeover`).

    A part still ``sending`` was handed to a modem, or was about to be, and nobody heard the
    answer: it becomes ``unknown`` (with ``error``, and an event saying ``detail``) and is
    never resent on its own. Messages claimed by the host go back to the queue so their
    untouched parts are sent; a message with an unknown part keeps its modem (the recipient
    reassembles parts from one sender only). Messages listed in ``in_flight`` are being
    worked on by this very process and are left alone, and so are claims made at or after
    ``claimed_before`` (a worker may have claimed after the caller took its ``in_flight``
    list).
    """
    abandoned = [
        messages.c.claimed_by == host,
        messages.c.status == MessageStatus.SENDING.value,
        messages.c.id.not_in(list(in_flight)),
    ]
    if claimed_before is not None:
        abandoned.append(messages.c.claimed_at < claimed_before)
    in_doubt = select(messages.c.id).where(*abandoned).scalar_subquery()
    unknown = await conn.execute(
        update(message_parts)
        .where(
            message_parts.c.message_id.in_(in_doubt),
            message_parts.c.status == PartStatus.SENDING.value,
        )
        .values(status=PartStatus.UNKNOWN.value, error=error)
        .returning(message_parts.c.message_id, message_parts.c.seq, message_parts.c.modem)
    )
    unknown_rows = unknown.all()
    unknown_ids = sorted({row.message_id for row in unknown_rows})
    if unknown_rows:
        await conn.execute(
            insert(message_events),
            [
                {
                    "message_id": row.message_id,
                    "part_seq": row.seq,
                    "status": PartStatus.UNKNOWN.value,
                    "detail": detail,
                    "modem": row.modem,
                    "at": now,
                }
                for row in unknown_rows
            ],
        )
    requeued = await conn.execute(
        update(messages)
        .where(*abandoned)
        .values(
            status=MessageStatus.QUEUED.value,
            claimed_by=None,
            claimed_at=None,
            updated_at=now,
        )
        .returning(messages.c.id)
    )
    requeued_ids = sorted(row.id for row in requeued)
    # Messages with nothing left to send are settled by their parts' statuses.
    changes = []
    for message_id in requeued_ids:
        change = await roll_up(conn, message_id, now=now)
        changes.append(change or StatusChange(message_id, MessageStatus.QUEUED.value))
    return Recovery(len(unknown_rows), len(requeued_ids), tuple(unknown_ids), tuple(changes))


@dataclass(frozen=True)
class Claimer:
    """A modem that claims with the general rule (no prefixes of its own)."""

    host: str
    modem: str
    own_number: str | None = None


@dataclass
class GroupClaim:
    claimed: dict[str, ClaimedRow]
    """A message per modem that got one."""
    exhausted: bool
    """True when every message the group may take was offered: a modem left without one
    would find nothing by itself either."""


async def claim_for_modems(
    conn: AsyncConnection,
    claimers: list[Claimer],
    *,
    now: datetime,
    avoid_for: timedelta = AVOID_FOR,
    lease: LeaseRef | None = None,
) -> GroupClaim:
    """A message each for several modems (of one host), in one look-up and one update instead
    of a claim each, under the rules of :func:`claim_due` (the same SQL: :func:`_may_take`):
    highest priority first, a message bound to a modem only to that modem, not to a modem's
    own number, not to the modem that failed it within ``avoid_for``. Messages go to modems
    in the order the modems are listed, those bound to a modem first to it. With ``lease``,
    claimed only while that lease is held."""
    if not claimers:
        return GroupClaim({}, exhausted=False)
    names = [c.modem for c in claimers]
    limit = len(claimers) + GROUP_SLACK
    params: dict[str, Any] = {
        "b_now": now,
        "b_names": names,
        "b_names2": names,
        "b_avoided_before": now - avoid_for,
    }
    for i, claimer in enumerate(claimers):
        params[f"b_modem_{i}"] = claimer.modem
        if claimer.own_number:
            params[f"b_own_{i}"] = claimer.own_number
    statement = _group_candidates(limit, tuple(bool(c.own_number) for c in claimers))
    rows = (await conn.execute(statement, params)).all()
    chosen = _distribute(rows, claimers)
    if not chosen:
        return GroupClaim({}, exhausted=len(rows) < limit)
    by_id = {message_id: modem for modem, message_id in chosen.items()}
    chosen_ids = {"b_ids": sorted(by_id), "b_host": claimers[0].host, "b_now": now}
    claimed = await conn.execute(
        _CLAIM_CHOSEN if lease is None else _CLAIM_CHOSEN_HELD,
        chosen_ids | (lease.params() if lease else {}),
    )
    result = {
        by_id[row.id]: ClaimedRow(
            row.id, row.recipient, row.attempts, row.status_report, row.priority
        )
        for row in claimed
    }
    return GroupClaim(result, exhausted=len(rows) < limit)


GROUP_SLACK = 2
"""Messages looked at beyond one per modem, for those some modems may not take."""


def _distribute(rows: list[Any], claimers: list[Claimer]) -> dict[str, int]:
    """Which message (id) each modem takes among ``rows``, best first; ``may_<i>`` of a row
    tells whether the ``i``-th claimer may take it."""
    bound_to = Counter(
        row.modem or row.assigned_modem for row in rows if row.modem or row.assigned_modem
    )
    free = dict(enumerate(claimers))
    chosen: dict[str, int] = {}
    for row in rows:
        if not free:
            break
        takers = [(i, c) for i, c in free.items() if getattr(row, f"may_{i}")]
        if not takers:
            continue
        # A message any modem may take goes to one with none bound to it waiting.
        index, taker = min(takers, key=lambda t: bound_to[t[1].modem] > 0)
        target = row.modem or row.assigned_modem
        if target:
            bound_to[target] -= 1
        chosen[taker.modem] = row.id
        del free[index]
    return chosen


@functools.lru_cache(maxsize=128)
def _group_candidates(limit: int, own_numbers: tuple[bool, ...]) -> Select[Any]:
    """The due messages the claimers ``b_modem_<i>`` (with ``b_own_<i>`` when
    ``own_numbers[i]``) may take, best first, each with whether claimer ``i`` may (``may_<i>``)."""
    now = bound("b_now", messages.c.updated_at)
    may = [
        and_(
            *_may_take(
                bindparam(f"b_modem_{i}", type_=messages.c.modem.type),
                bindparam(f"b_own_{i}", type_=messages.c.recipient.type) if known else None,
            )
        ).label(f"may_{i}")
        for i, known in enumerate(own_numbers)
    ]
    return (
        select(
            messages.c.id,
            messages.c.modem,
            messages.c.assigned_modem,
            *may,
        )
        .where(
            *_due(now),
            or_(
                messages.c.modem.is_(None),
                messages.c.modem.in_(bindparam("b_names", expanding=True)),
            ),
            or_(
                messages.c.assigned_modem.is_(None),
                messages.c.assigned_modem.in_(bindparam("b_names2", expanding=True)),
            ),
        )
        .order_by(messages.c.priority.desc(), messages.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


_CLAIM_CHOSEN = _claiming(
    and_(
        messages.c.id.in_(bindparam("b_ids", expanding=True)),
        messages.c.status == MessageStatus.QUEUED.value,
    )
)
_CLAIM_CHOSEN_HELD = _CLAIM_CHOSEN.where(LEASE_HELD)
