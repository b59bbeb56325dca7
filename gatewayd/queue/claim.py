"""Taking messages off the queue for one modem, and giving back what a crash left behind.

A claim is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING``:
on PostgreSQL concurrent claimers (other modems, other gatewayd hosts) skip each other's rows,
so no message is ever handed to two modems. SQLite ignores the locking clause, which is fine:
it has one writer at a time, and embedded mode has one process.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Update, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.progress import bound, roll_up
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


async def claim(
    conn: AsyncConnection,
    *,
    host: str,
    modem: str,
    prefixes: tuple[str, ...] = (),
    own_number: str | None = None,
    now: datetime,
    limit: int = 1,
    avoid_for: timedelta = AVOID_FOR,
) -> list[ClaimedMessage]:
    """Claim up to ``limit`` due messages this modem may send, highest priority first.

    A modem that knows its own number leaves messages to that number to the other modems. A
    modem that failed a message (its ``avoid_modem``) leaves it to the others for
    ``avoid_for``, then takes it again: with one modem, or all others busy or gone, the
    message must not wait forever.
    """
    statement = _claim_statement(modem, tuple(prefixes), own_number, limit)
    claimed = await conn.execute(
        statement, {"b_host": host, "b_now": now, "b_avoided_before": now - avoid_for}
    )
    rows = sorted(claimed.all(), key=lambda r: (-r.priority, r.id))
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


@functools.lru_cache(maxsize=1024)
def _claim_statement(
    modem: str, prefixes: tuple[str, ...], own_number: str | None, limit: int
) -> Update:
    """The claim of one modem, built once: only the host and the clock vary between calls."""
    now = bound("b_now", messages.c.updated_at)
    due = (
        select(messages.c.id)
        .where(
            messages.c.status == MessageStatus.QUEUED.value,
            or_(messages.c.send_at.is_(None), messages.c.send_at <= now),
            or_(messages.c.next_attempt_at.is_(None), messages.c.next_attempt_at <= now),
            or_(messages.c.modem.is_(None), messages.c.modem == modem),
            or_(messages.c.assigned_modem.is_(None), messages.c.assigned_modem == modem),
            or_(
                messages.c.avoid_modem.is_(None),
                messages.c.avoid_modem != modem,
                messages.c.updated_at <= bound("b_avoided_before", messages.c.updated_at),
            ),
        )
        .order_by(messages.c.priority.desc(), messages.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if prefixes:
        due = due.where(or_(*(messages.c.recipient.startswith(p) for p in prefixes)))
    if own_number:
        due = due.where(messages.c.recipient != own_number)
    return (
        update(messages)
        .where(messages.c.id.in_(due.scalar_subquery()))
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


async def release(conn: AsyncConnection, message_ids: list[int], *, now: datetime) -> None:
    """Put claimed messages whose parts were not touched back in the queue (clean shutdown)."""
    if not message_ids:
        return
    await conn.execute(
        update(messages)
        .where(
            messages.c.id.in_(message_ids), messages.c.status == MessageStatus.SENDING.value
        )
        .values(
            status=MessageStatus.QUEUED.value,
            claimed_by=None,
            claimed_at=None,
            updated_at=now,
            attempts=messages.c.attempts - 1,
        )
    )


@dataclass(frozen=True)
class Recovery:
    unknown_parts: int
    requeued_messages: int
    unknown_message_ids: tuple[int, ...]


async def recover_after_crash(
    conn: AsyncConnection,
    *,
    host: str,
    now: datetime,
    in_flight: Collection[int] = (),
    claimed_before: datetime | None = None,
) -> Recovery:
    """Settle what this host left in flight when it last stopped without finishing.

    A part still ``sending`` was handed to a modem, or was about to be, and nobody heard the
    answer: it becomes ``unknown`` and is never resent on its own. Messages claimed by this host
    go back to the queue so their untouched parts are sent; a message with an unknown part keeps
    its modem (the recipient reassembles parts from one sender only). Messages listed in
    ``in_flight`` are being worked on by this very process and are left alone, and so are
    claims made at or after ``claimed_before`` (a worker may have claimed after the caller
    took its ``in_flight`` list).
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
        .values(
            status=PartStatus.UNKNOWN.value,
            error="gatewayd stopped before the modem answered: the part may have been sent",
        )
        .returning(message_parts.c.message_id, message_parts.c.seq)
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
                    "detail": "gatewayd stopped while the part was with the modem",
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
    requeued_ids = [row.id for row in requeued]
    # Messages with nothing left to send are settled by their parts' statuses.
    for message_id in requeued_ids:
        await roll_up(conn, message_id, now=now)
    return Recovery(len(unknown_rows), len(requeued_ids), tuple(unknown_ids))

