"""``INSERT … ON CONFLICT DO NOTHING`` for both back ends, the one dialect difference callers
of the store would otherwise have to know."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_ignoring_duplicates(
    conn: AsyncConnection, table: Table, values: dict[str, Any]
) -> int | None:
    """Insert one row unless it breaks a unique constraint; the new primary key, or None."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    pk = next(iter(table.primary_key.columns))
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(pk)
    row = (await conn.execute(statement)).first()
    return None if row is None else row[0]


async def upsert(
    conn: AsyncConnection, table: Table, values: dict[str, Any], *, key: tuple[str, ...]
) -> None:
    """Insert one row, or update the existing row with the same ``key`` columns."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    updates = {name: statement.excluded[name] for name in values if name not in key}
    await conn.execute(statement.on_conflict_do_update(index_elements=list(key), set_=updates))
