"""Read-only queries behind the pages: modem cards, idle gatewayd hosts, queue figures, 24-hour
charts, the outbox, inbox threads and signal history. Each takes an open connection and returns
plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.host_state import live_hosts
from gatewayd.store import (
    MessageStatus,
    incoming_messages,
    messages,
    modem_samples,
    modems,
    utc_now,
)

WAITING = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value)
OUTBOX_PAGE = 50


@dataclass(frozen=True)
class ModemCard:
    name: str
    state: str
    operator: str | None
    signal_dbm: int | None
    registration: str | None
    queue_depth: int
    sent_today: int
    last_seen: datetime | None
    imei: str | None
    imsi: str | None
    model: str | None
    manufacturer: str | None
    error: str | None
    device: str
    host: str


async def modem_cards(conn: AsyncConnection) -> list[ModemCard]:
    waiting = (
        select(
            func.coalesce(messages.c.assigned_modem, messages.c.modem).label("name"),
            func.count().label("depth"),
        )
        .where(messages.c.status.in_(WAITING))
        .group_by(func.coalesce(messages.c.assigned_modem, messages.c.modem))
    )
    depth = {row.name: row.depth for row in await conn.execute(waiting) if row.name}
    today = utc_now().date().isoformat()
    rows = await conn.execute(select(modems).order_by(modems.c.name))
    return [
        ModemCard(
            name=row.name,
            state=row.state,
            operator=row.operator,
            signal_dbm=row.signal_dbm,
            registration=row.registration,
            queue_depth=depth.get(row.name, 0),
            sent_today=row.sent_today if row.sent_today_date == today else 0,
            last_seen=row.last_seen,
            imei=row.imei,
            imsi=row.imsi,
            model=row.model,
            manufacturer=row.manufacturer,
            error=row.error,
            device=row.device,
            host=row.host,
        )
        for row in rows
    ]


async def idle_hosts(conn: AsyncConnection) -> list[str]:
    """gatewayd hosts running with no enabled modem: they send nothing."""
    return [host.host for host in await live_hosts(conn) if host.idle]


async def queue_summary(conn: AsyncConnection) -> dict[str, int]:
    """Messages waiting (queued, sending) and today's outcomes (UTC day)."""
    start = utc_now().replace(hour=0, minute=0, second=0, microsecond=0)
    waiting = (
        await conn.execute(
            select(func.count()).select_from(messages).where(messages.c.status.in_(WAITING))
        )
    ).scalar_one()
    counts = {
        row.status: row.n
        for row in await conn.execute(
            select(messages.c.status, func.count().label("n"))
            .where(messages.c.updated_at >= start)
            .group_by(messages.c.status)
        )
    }
    received = (
        await conn.execute(
            select(func.count())
            .select_from(incoming_messages)
            .where(incoming_messages.c.stored_at >= start)
        )
    ).scalar_one()
    return {
        "waiting": int(waiting),
        "sent": int(counts.get("sent", 0) + counts.get("delivered", 0)),
        "delivered": int(counts.get("delivered", 0)),
        "failed": int(counts.get("failed", 0) + counts.get("expired", 0)),
        "received": int(received),
    }


def _hour_bucket(conn: AsyncConnection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        hour = func.date_trunc("hour", func.timezone("UTC", column))
        return func.to_char(hour, "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


async def _hourly(
    conn: AsyncConnection, column: Any, since: datetime, *where: ColumnElement[bool]
) -> dict[str, int]:
    bucket = _hour_bucket(conn, column).label("bucket")
    query = select(bucket, func.count().label("n")).where(column >= since, *where).group_by(bucket)
    return {str(row.bucket): int(row.n) for row in await conn.execute(query)}


async def last_24_hours(conn: AsyncConnection, now: datetime | None = None) -> dict[str, Any]:
    """Hourly counts of sent, delivered, failed and received messages (UTC hours)."""
    end = (now or utc_now()).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=23)
    hours = [start + timedelta(hours=i) for i in range(24)]
    keys = [hour.strftime("%Y-%m-%d %H") for hour in hours]
    failed_states = (MessageStatus.FAILED.value, MessageStatus.EXPIRED.value)
    series = {
        "sent": await _hourly(conn, messages.c.sent_at, start),
        "delivered": await _hourly(conn, messages.c.delivered_at, start),
        "failed": await _hourly(
            conn, messages.c.updated_at, start, messages.c.status.in_(failed_states)
        ),
        "received": await _hourly(conn, incoming_messages.c.stored_at, start),
    }
    return {
        "hours": [hour.isoformat().replace("+00:00", "Z") for hour in hours],
        "series": {name: [counts.get(key, 0) for key in keys] for name, counts in series.items()},
    }


@dataclass(frozen=True)
class OutboxFilter:
    status: str = ""
    search: str = ""
    modem: str = ""
    before: int | None = None
    batch: int | None = None


async def outbox_page(conn: AsyncConnection, wanted: OutboxFilter) -> tuple[list[Any], int | None]:
    """Newest first, :data:`OUTBOX_PAGE` at a time; the id to continue from, or None."""
    conditions: list[ColumnElement[bool]] = []
    if wanted.status:
        conditions.append(messages.c.status == wanted.status)
    if wanted.modem:
        conditions.append(
            or_(messages.c.assigned_modem == wanted.modem, messages.c.modem == wanted.modem)
        )
    if wanted.search:
        pattern = f"%{_escape_like(wanted.search)}%"
        conditions.append(
            or_(
                messages.c.recipient.like(pattern, escape="\\"),
                messages.c.text.like(pattern, escape="\\"),
            )
        )
    if wanted.before is not None:
        conditions.append(messages.c.id < wanted.before)
    if wanted.batch is not None:
        conditions.append(or_(messages.c.batch_id == wanted.batch, messages.c.id == wanted.batch))
    rows: list[Any] = list(
        (
            await conn.execute(
                select(messages)
                .where(and_(true(), *conditions))
                .order_by(messages.c.id.desc())
                .limit(OUTBOX_PAGE + 1)
            )
        ).all()
    )
    more = len(rows) > OUTBOX_PAGE
    rows = rows[:OUTBOX_PAGE]
    return rows, (rows[-1].id if more else None)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Thread:
    sender: str
    last_text: str
    last_at: datetime
    count: int
    modem: str


async def inbox_threads(conn: AsyncConnection, search: str = "", limit: int = 100) -> list[Thread]:
    """One row per sender, the most recent conversation first."""
    latest = (
        select(
            incoming_messages.c.sender,
            func.max(incoming_messages.c.id).label("last_id"),
            func.count().label("n"),
        )
        .group_by(incoming_messages.c.sender)
        .subquery()
    )
    query = (
        select(
            incoming_messages.c.sender,
            incoming_messages.c.text,
            incoming_messages.c.received_at,
            incoming_messages.c.modem,
            latest.c.n,
        )
        .join(latest, incoming_messages.c.id == latest.c.last_id)
        .order_by(incoming_messages.c.id.desc())
        .limit(limit)
    )
    if search:
        pattern = f"%{_escape_like(search)}%"
        query = query.where(
            or_(
                incoming_messages.c.sender.like(pattern, escape="\\"),
                incoming_messages.c.text.like(pattern, escape="\\"),
            )
        )
    return [
        Thread(row.sender, row.text, row.received_at, int(row.n), row.modem)
        for row in await conn.execute(query)
    ]


@dataclass(frozen=True)
class Bubble:
    direction: str
    """``in`` (received) or ``out`` (sent to that number)."""
    text: str
    at: datetime
    status: str | None
    message_id: int | None
    modem: str | None


async def conversation(conn: AsyncConnection, number: str, limit: int = 200) -> list[Bubble]:
    """Messages from and to ``number``, oldest first."""
    received = await conn.execute(
        select(incoming_messages)
        .where(incoming_messages.c.sender == number)
        .order_by(incoming_messages.c.id.desc())
        .limit(limit)
    )
    sent = await conn.execute(
        select(messages)
        .where(messages.c.recipient == number)
        .order_by(messages.c.id.desc())
        .limit(limit)
    )
    bubbles = [
        Bubble("in", row.text, row.received_at, None, None, row.modem) for row in received
    ] + [
        Bubble("out", row.text, row.created_at, row.status, row.id, row.assigned_modem)
        for row in sent
    ]
    bubbles.sort(key=lambda bubble: bubble.at)
    return bubbles[-limit:]


async def signal_history(
    conn: AsyncConnection, modem: str, hours: int = 24
) -> list[tuple[datetime, int | None]]:
    since = utc_now() - timedelta(hours=hours)
    rows = await conn.execute(
        select(modem_samples.c.at, modem_samples.c.signal_dbm)
        .where(modem_samples.c.modem == modem, modem_samples.c.at >= since)
        .order_by(modem_samples.c.at)
        .limit(2000)
    )
    return [(row.at, row.signal_dbm) for row in rows]
