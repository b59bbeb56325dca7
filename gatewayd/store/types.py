"""Column types shared by every table, identical in meaning on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

RowId = BigInteger().with_variant(Integer(), "sqlite")
"""Primary keys: ``BIGINT`` on PostgreSQL, ``INTEGER`` (the rowid alias) on SQLite."""


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, always timezone-aware UTC for callers.

    PostgreSQL stores ``timestamptz``. SQLite has no timezone type, so values are stored as naive
    UTC text (which sorts correctly) and turned back into aware datetimes on read. Naive datetimes
    are refused on write: they are a bug whose timezone nobody knows.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given: use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_now() -> datetime:
    """The current time as an aware UTC datetime, the only kind the store accepts."""
    return datetime.now(UTC)
