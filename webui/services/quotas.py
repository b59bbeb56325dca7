"""Daily and monthly quotas of client accounts, counted durably in ``account_usage``.

A quota counts messages (not parts) per UTC day and UTC month. Taking ``n`` messages is one
upsert per period (both are counted once the account has any quota), in one transaction::

    INSERT INTO account_usage (account_id, period, starts, used) VALUES (:id, 'day', :day, :n)
    ON CONFLICT (account_id, period, starts)
    DO UPDATE SET used = account_usage.used + excluded.used
    WHERE account_usage.used + excluded.used <= :limit
    RETURNING used

No row back means the quota cannot take them: the transaction rolls back (the day's count
too when the month refused) and :class:`~webui.services.errors.QuotaExceeded` says which
period and when it resets. The row lock the upsert takes makes concurrent requests, from any
process, queue on it, so no mix of requests ever counts past a quota (PostgreSQL re-checks the
condition on the row it waited for; SQLite has one writer at a time). Messages that were not
queued after all are given back (:func:`give_back`). Accounts without a quota never come here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import UsagePeriod, account_usage
from webui.services.errors import QuotaExceeded


def period_start(period: UsagePeriod, now: datetime) -> date:
    """The first day of the UTC day or month ``now`` falls in."""
    day = now.astimezone(UTC).date()
    return day if period is UsagePeriod.DAY else day.replace(day=1)


def period_end(period: UsagePeriod, now: datetime) -> datetime:
    """When the UTC day or month of ``now`` ends: the moment its quota resets."""
    start = period_start(period, now)
    if period is UsagePeriod.DAY:
        following = start + timedelta(days=1)
    elif start.month == 12:
        following = date(start.year + 1, 1, 1)
    else:
        following = date(start.year, start.month + 1, 1)
    return datetime(following.year, following.month, following.day, tzinfo=UTC)


@dataclass(frozen=True)
class Limits:
    """An account's quotas; None: unlimited."""

    day: int | None
    month: int | None

    def of(self, period: UsagePeriod) -> int | None:
        return self.day if period is UsagePeriod.DAY else self.month

    @property
    def any(self) -> bool:
        return self.day is not None or self.month is not None


@dataclass(frozen=True)
class Taken:
    """What :func:`take` counted, for :func:`give_back`."""

    account_id: int
    count: int
    periods: tuple[tuple[UsagePeriod, date], ...]


async def take(
    conn: AsyncConnection, account_id: int, limits: Limits, count: int, now: datetime
) -> Taken:
    """Count ``count`` messages in the day and the month, or raise :class:`QuotaExceeded` when
    a quota cannot take them (roll the transaction back then: a period may have been counted).
    Both periods are counted once the account has any quota, so its usage reads whole."""
    periods: list[tuple[UsagePeriod, date]] = []
    for period in UsagePeriod:
        limit = limits.of(period)
        starts = period_start(period, now)
        if (limit is not None and count > limit) or not await _add_within(
            conn, account_id, period, starts, count, limit
        ):
            assert limit is not None
            used = await _used(conn, account_id, period, starts)
            raise QuotaExceeded(period.value, period_end(period, now), limit, max(0, limit - used))
        periods.append((period, starts))
    return Taken(account_id, count, tuple(periods))


async def _add_within(
    conn: AsyncConnection,
    account_id: int,
    period: UsagePeriod,
    starts: date,
    count: int,
    limit: int | None,
) -> bool:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(account_usage).values(
        account_id=account_id, period=period.value, starts=starts, used=count
    )
    total = account_usage.c.used + insert.excluded.used
    statement = insert.on_conflict_do_update(
        index_elements=["account_id", "period", "starts"],
        set_={"used": total},
        where=None if limit is None else total <= limit,
    ).returning(account_usage.c.used)
    return (await conn.execute(statement)).first() is not None


async def _used(conn: AsyncConnection, account_id: int, period: UsagePeriod, starts: date) -> int:
    found = await conn.execute(select(account_usage.c.used).where(_row(account_id, period, starts)))
    return int(found.scalar_one_or_none() or 0)


def _row(account_id: int, period: UsagePeriod, starts: date):  # type: ignore[no-untyped-def]
    return and_(
        account_usage.c.account_id == account_id,
        account_usage.c.period == period.value,
        account_usage.c.starts == starts,
    )


async def give_back(conn: AsyncConnection, taken: Taken) -> None:
    """Uncount messages :func:`take` counted that were not queued after all."""
    for period, starts in taken.periods:
        await conn.execute(
            update(account_usage)
            .where(_row(taken.account_id, period, starts), account_usage.c.used >= taken.count)
            .values(used=account_usage.c.used - taken.count)
        )


@dataclass(frozen=True)
class Usage:
    """Messages counted today and this month (UTC)."""

    day: int
    month: int


async def usage(conn: AsyncConnection, account_id: int, now: datetime) -> Usage:
    """What the account used this UTC day and month (counted only while it has a quota)."""
    return Usage(
        await _used(conn, account_id, UsagePeriod.DAY, period_start(UsagePeriod.DAY, now)),
        await _used(conn, account_id, UsagePeriod.MONTH, period_start(UsagePeriod.MONTH, now)),
    )
