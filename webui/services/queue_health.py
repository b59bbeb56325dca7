"""Is the queue moving? One check shared by ``GET /api/health`` (``checks.queue``) and the
``queue_stuck`` alert: ``stuck`` when messages have been due (queued, their send time and retry
time passed) for longer than ``stuck_after`` and no message left the queue (sent, delivered or
failed) in that time, and none is being sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import MessageStatus, messages

QUEUE_STUCK_AFTER = timedelta(minutes=2)
MOVED = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.FAILED)


async def queue_check(
    conn: AsyncConnection,
    now: datetime,
    details: dict[str, Any],
    stuck_after: timedelta = QUEUE_STUCK_AFTER,
) -> str:
    """``ok``, or ``stuck`` when due messages wait and nothing has left the queue lately;
    ``details`` gets ``queue_due`` and ``queue_oldest_due_seconds``."""
    due_since = func.coalesce(messages.c.next_attempt_at, messages.c.send_at, messages.c.created_at)
    waiting = (
        await conn.execute(
            select(func.count(), func.min(due_since)).where(
                messages.c.status == MessageStatus.QUEUED.value, due_since <= now
            )
        )
    ).one()
    due, oldest = int(waiting[0]), waiting[1]
    details["queue_due"] = due
    if not due or oldest is None:
        return "ok"
    waited = now - oldest
    details["queue_oldest_due_seconds"] = round(max(waited.total_seconds(), 0.0), 1)
    if waited <= stuck_after:
        return "ok"
    sending = await conn.execute(
        select(messages.c.id).where(messages.c.status == MessageStatus.SENDING.value).limit(1)
    )
    if sending.first() is not None:
        return "ok"
    for status in MOVED:  # the newest message of each outcome: an index walk each
        latest = await conn.execute(
            select(messages.c.updated_at)
            .where(messages.c.status == status.value)
            .order_by(messages.c.id.desc())
            .limit(1)
        )
        moved = latest.scalar()
        if moved is not None and now - moved <= stuck_after:
            return "ok"
    return "stuck"
