"""Read-only queries behind the pages: modem cards, idle gatewayd hosts, queue figures, 24-hour
one conversation and signal history (the outbox and inbox lists are
:mod:`webui.services.listing`). Each takes an open connection and returns
plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
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


async def queue_summary(conn: AsyncConnection) -> dict[str, Any]:
    """Messages waiting (queued, sending) and today's outcomes (UTC day), all counted in
    messages; the delivery rate is the delivered share of today's finished messages."""
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
    delivered = int(counts.get("delivered", 0))
    failed = int(counts.get("failed", 0) + counts.get("expired", 0))
    return {
        "waiting": int(waiting),
        "sent": int(counts.get("sent", 0) + counts.get("delivered", 0)),
        "delivered": delivered,
        "failed": failed,
        "received": int(received),
        "delivery_rate": round(delivered / (delivered + failed), 4) if delivered + failed else None,
    }


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
