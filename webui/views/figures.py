"""Figures an operator can check against the network's bill: per modem, today and this month
(UTC), messages sent, failed and delivered, the parts (SMS) they took, the delivery rate, and
this month's parts against the SIM plan; and the traffic chart in three ranges (24 hours by the
hour, 7 and 30 days by the day).

Every count says its unit: a *message* is what was queued, a *part* one SMS of it (a long
message takes several). The modem counts attribute a message to the modem that took it.

The period's messages are found by id: ids grow with time, so a binary search over the primary
key (:func:`first_id_since`) finds the first message of a period with a few index lookups, and
only that period's rows are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import MessageStatus, incoming_messages, messages, utc_now

SENT = (MessageStatus.SENT.value, MessageStatus.DELIVERED.value)
FAILED = (MessageStatus.FAILED.value, MessageStatus.EXPIRED.value)
RANGES = {
    "24h": (timedelta(hours=24), "hour"),
    "7d": (timedelta(days=7), "day"),
    "30d": (timedelta(days=30), "day"),
}


async def first_id_since(conn: AsyncConnection, since: datetime) -> int | None:
    """The lowest message id created at or after ``since`` (None: none was)."""
    bounds = (await conn.execute(select(func.min(messages.c.id), func.max(messages.c.id)))).one()
    low, high = bounds
    if low is None:
        return None
    found: int | None = None
    while low <= high:
        middle = (low + high) // 2
        row = (
            await conn.execute(
                select(messages.c.id, messages.c.created_at)
                .where(messages.c.id >= middle)
                .order_by(messages.c.id)
                .limit(1)
            )
        ).first()
        if row is None:
            break
        if row.created_at >= since:
            found = row.id
            high = middle - 1
        else:
            low = row.id + 1
    return found


@dataclass
class Period:
    """One modem's (or the gateway's) figures over a period."""

    sent: int = 0
    """Messages that left (sent or delivered)."""
    sent_parts: int = 0
    delivered: int = 0
    failed: int = 0
    """Messages that failed or expired."""
    unknown: int = 0

    @property
    def delivery_rate(self) -> float | None:
        """Delivered share of the finished messages (delivered or failed), None without any."""
        finished = self.delivered + self.failed
        return self.delivered / finished if finished else None


@dataclass
class ModemFigures:
    today: Period = field(default_factory=Period)
    month: Period = field(default_factory=Period)
    plan: int | None = None
    """Parts (SMS) a month the SIM plan includes."""

    @property
    def plan_share(self) -> float | None:
        return self.month.sent_parts / self.plan if self.plan else None


async def _periods(
    conn: AsyncConnection, first_id: int | None, *where: ColumnElement[bool]
) -> dict[str, Period]:
    if first_id is None:
        return {}
    owner = func.coalesce(messages.c.assigned_modem, messages.c.modem).label("owner")
    query = (
        select(
            owner,
            messages.c.status,
            func.count().label("n"),
            func.sum(messages.c.segments).label("parts"),
        )
        .where(messages.c.id >= first_id, *where)
        .group_by(owner, messages.c.status)
    )
    periods: dict[str, Period] = {}
    for row in await conn.execute(query):
        period = periods.setdefault(row.owner or "", Period())
        if row.status in SENT:
            period.sent += int(row.n)
            period.sent_parts += int(row.parts or 0)
        if row.status == MessageStatus.DELIVERED.value:
            period.delivered += int(row.n)
        elif row.status in FAILED:
            period.failed += int(row.n)
        elif row.status == MessageStatus.UNKNOWN.value:
            period.unknown += int(row.n)
    return periods


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def modem_figures(
    conn: AsyncConnection, plans: dict[str, int], now: datetime | None = None
) -> dict[str, ModemFigures]:
    """Each modem's figures today and this month (UTC), with its plan."""
    now = now or utc_now()
    month = await _periods(conn, await first_id_since(conn, month_start(now)))
    start_of_day = day_start(now)
    today = await _periods(
        conn, await first_id_since(conn, start_of_day), messages.c.created_at >= start_of_day
    )
    names = set(month) | set(today) | set(plans)
    return {
        name: ModemFigures(today.get(name, Period()), month.get(name, Period()), plans.get(name))
        for name in names
        if name
    }


def total(periods: dict[str, ModemFigures], which: str) -> Period:
    result = Period()
    for figures in periods.values():
        part: Period = getattr(figures, which)
        result.sent += part.sent
        result.sent_parts += part.sent_parts
        result.delivered += part.delivered
        result.failed += part.failed
        result.unknown += part.unknown
    return result


def _bucket(conn: AsyncConnection, column: Any, unit: str) -> Any:
    if conn.dialect.name == "postgresql":
        start = func.date_trunc(unit, func.timezone("UTC", column))
        return func.to_char(start, "YYYY-MM-DD HH24" if unit == "hour" else "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d %H" if unit == "hour" else "%Y-%m-%d", column)


async def _counted(
    conn: AsyncConnection, column: Any, since: datetime, unit: str, *where: ColumnElement[bool]
) -> dict[str, int]:
    bucket = _bucket(conn, column, unit).label("bucket")
    query = select(bucket, func.count().label("n")).where(column >= since, *where).group_by(bucket)
    return {str(row.bucket): int(row.n) for row in await conn.execute(query)}


async def traffic(conn: AsyncConnection, span: str, now: datetime | None = None) -> dict[str, Any]:
    """Messages sent, delivered, failed and received per hour (``24h``) or per day (``7d``,
    ``30d``), UTC; unknown spans read as ``24h``."""
    length, unit = RANGES.get(span, RANGES["24h"])
    now = now or utc_now()
    if unit == "hour":
        end = now.replace(minute=0, second=0, microsecond=0)
        step = timedelta(hours=1)
    else:
        end = day_start(now)
        step = timedelta(days=1)
    count = int(length / step)
    start = end - step * (count - 1)
    buckets = [start + step * i for i in range(count)]
    keys = [b.strftime("%Y-%m-%d %H" if unit == "hour" else "%Y-%m-%d") for b in buckets]
    series = {
        "sent": await _counted(conn, messages.c.sent_at, start, unit),
        "delivered": await _counted(conn, messages.c.delivered_at, start, unit),
        "failed": await _counted(
            conn, messages.c.updated_at, start, unit, messages.c.status.in_(FAILED)
        ),
        "received": await _counted(conn, incoming_messages.c.stored_at, start, unit),
    }
    return {
        "range": span if span in RANGES else "24h",
        "unit": unit,
        "hours": [b.isoformat().replace("+00:00", "Z") for b in buckets],
        "series": {name: [counts.get(key, 0) for key in keys] for name, counts in series.items()},
    }
