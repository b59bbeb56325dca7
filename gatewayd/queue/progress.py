"""How a message moves once claimed: parts handed to a modem, answered, failed, retried.

The at-most-once rule lives here: a part is committed as ``sending`` *before* its AT+CMGS is
written, so whatever happens next is known or visibly ``unknown``. A message's status is always
rolled up from its parts by :func:`roll_up`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import (
    MessageStatus,
    PartStatus,
    message_events,
    message_parts,
    messages,
    modems,
)

FINAL_PART_STATES = frozenset(
    {PartStatus.SENT, PartStatus.DELIVERED, PartStatus.FAILED, PartStatus.EXPIRED,
     PartStatus.UNKNOWN}
)  # fmt: skip


@dataclass(frozen=True)
class StatusChange:
    message_id: int
    status: str
    error: str | None = None


async def part_sending(
    conn: AsyncConnection,
    part_id: int,
    message_id: int,
    *,
    modem: str,
    imsi: str | None,
    now: datetime,
    first_of_try: bool,
) -> None:
    """Record that the part is about to be handed to ``modem`` (commit before AT+CMGS)."""
    await conn.execute(
        update(message_parts)
        .where(message_parts.c.id == part_id)
        .values(
            status=PartStatus.SENDING.value,
            modem=modem,
            modem_imsi=imsi,
            submitted_at=now,
            attempts=message_parts.c.attempts + 1,
            error=None,
        )
    )
    if first_of_try:
        await conn.execute(
            update(messages)
            .where(messages.c.id == message_id)
            .values(assigned_modem=modem, updated_at=now)
        )


async def part_sent(
    conn: AsyncConnection, part_id: int, *, mr: int, modem: str, now: datetime
) -> None:
    """The modem answered ``+CMGS: <mr>``: the network has the part."""
    await conn.execute(
        update(message_parts)
        .where(message_parts.c.id == part_id)
        .values(status=PartStatus.SENT.value, mr=mr, sent_at=now)
    )
    await count_sent(conn, modem, now)


async def count_sent(conn: AsyncConnection, modem: str, now: datetime) -> None:
    """One more part sent by ``modem`` today (UTC); the counter restarts each day."""
    today = now.date().isoformat()
    await conn.execute(
        update(modems)
        .where(modems.c.name == modem)
        .values(
            sent_today=case(
                (modems.c.sent_today_date == today, modems.c.sent_today + 1), else_=1
            ),
            sent_today_date=today,
        )
    )


async def part_unknown(
    conn: AsyncConnection, part_id: int, message_id: int, *, reason: str, now: datetime
) -> None:
    """The part was handed over and no verdict came: never resent on its own."""
    await conn.execute(
        update(message_parts)
        .where(message_parts.c.id == part_id)
        .values(status=PartStatus.UNKNOWN.value, error=reason)
    )
    await record_event(conn, message_id, PartStatus.UNKNOWN.value, reason, now=now)


async def part_not_sent(conn: AsyncConnection, part_id: int) -> None:
    """The modem refused the part before taking it: it goes back to waiting."""
    await conn.execute(
        update(message_parts)
        .where(message_parts.c.id == part_id)
        .values(status=PartStatus.QUEUED.value, submitted_at=None)
    )


async def retry_later(
    conn: AsyncConnection,
    message_id: int,
    *,
    delay: timedelta,
    reason: str,
    now: datetime,
    avoid_modem: str | None = None,
    keep_modem: bool,
) -> StatusChange:
    """Back to the queue, due again after ``delay``; optionally not on ``avoid_modem``."""
    values: dict[str, object] = {
        "status": MessageStatus.QUEUED.value,
        "claimed_by": None,
        "claimed_at": None,
        "next_attempt_at": now + delay,
        "error": reason,
        "updated_at": now,
    }
    if not keep_modem:
        values["assigned_modem"] = None
        values["avoid_modem"] = avoid_modem
    await conn.execute(update(messages).where(messages.c.id == message_id).values(**values))
    await record_event(conn, message_id, "retry", reason, now=now)
    return StatusChange(message_id, MessageStatus.QUEUED.value, reason)


async def fail_message(
    conn: AsyncConnection, message_id: int, *, reason: str, now: datetime
) -> StatusChange:
    """Give up: the parts not yet handed over fail with the message."""
    await conn.execute(
        update(message_parts)
        .where(
            message_parts.c.message_id == message_id,
            message_parts.c.status.in_((PartStatus.QUEUED.value, PartStatus.SENDING.value)),
        )
        .values(status=PartStatus.FAILED.value, error=reason)
    )
    await conn.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(status=MessageStatus.FAILED.value, error=reason, updated_at=now)
    )
    await record_event(conn, message_id, MessageStatus.FAILED.value, reason, now=now)
    return StatusChange(message_id, MessageStatus.FAILED.value, reason)


async def roll_up(conn: AsyncConnection, message_id: int, *, now: datetime) -> StatusChange | None:
    """Set the message's status from its parts once none is waiting; None when unchanged.

    The message row is locked first: two transactions settling two parts of one message at
    once (reports arriving together) would otherwise each see the other part unsettled, and
    neither would roll the message up. ``FOR NO KEY UPDATE`` does not wait for the key-share
    locks that inserting the message's events takes, so it cannot deadlock with them."""
    current = (
        await conn.execute(
            select(messages.c.status, messages.c.error)
            .where(messages.c.id == message_id)
            .with_for_update(key_share=True)
        )
    ).one_or_none()
    if current is None:
        return None
    parts = (
        await conn.execute(
            select(
                message_parts.c.status, message_parts.c.sent_at, message_parts.c.delivered_at
            ).where(message_parts.c.message_id == message_id)
        )
    ).all()
    statuses = {row.status for row in parts}
    if not parts or statuses & {PartStatus.QUEUED.value, PartStatus.SENDING.value}:
        return None
    status = message_status_from_parts(statuses)
    if current.status == status:
        return None
    values: dict[str, object] = {"status": status, "updated_at": now, "claimed_by": None}
    sent_times = [row.sent_at for row in parts if row.sent_at is not None]
    if sent_times:
        values["sent_at"] = max(sent_times)
    if status == MessageStatus.DELIVERED.value:
        values["delivered_at"] = max(row.delivered_at or now for row in parts)
        values["error"] = None
    await conn.execute(update(messages).where(messages.c.id == message_id).values(**values))
    await record_event(conn, message_id, status, None, now=now)
    return StatusChange(message_id, status, current.error if status == "failed" else None)


def message_status_from_parts(statuses: set[str]) -> str:
    """The message status that a set of settled part statuses adds up to."""
    for status in (
        MessageStatus.FAILED,
        MessageStatus.UNKNOWN,
        MessageStatus.EXPIRED,
        MessageStatus.SENT,
    ):
        if status.value in statuses:
            return status.value
    return MessageStatus.DELIVERED.value


async def record_event(
    conn: AsyncConnection,
    message_id: int,
    status: str,
    detail: str | None,
    *,
    now: datetime,
    part_seq: int | None = None,
    modem: str | None = None,
) -> None:
    await conn.execute(
        insert(message_events).values(
            message_id=message_id,
            part_seq=part_seq,
            status=status,
            detail=detail,
            modem=modem,
            at=now,
        )
    )
