"""Writing many rows at driver speed: ids taken before the insert, rows sent in one executemany.

SQLAlchemy Core compiles and processes every row of a multi-row insert in Python, which costs
more than the database itself once a request carries thousands of messages. Here the SQL is
written once per table and paramstyle, each value goes through the same bind processor Core
would apply (so what is stored is identical), and the rows reach the driver's own
``executemany`` (asyncpg pipelines them; sqlite3 loops in C). Errors still come out as
SQLAlchemy exceptions, since the statement runs through ``exec_driver_sql``.

On PostgreSQL a batch of more than a few rows goes through ``COPY`` instead
(``copy_records_to_table`` on the transaction's own asyncpg connection): a third of the
server's CPU of row-by-row inserts. Its driver errors are converted here into the SQLAlchemy
exceptions callers already handle: a constraint violation into ``IntegrityError``, a lost
connection into an invalidated ``DBAPIError`` (which the store reports as "database
unavailable").

Ids are taken up front, so a batch knows its ``batch_id`` without an ``UPDATE`` and nothing has
to be read back: on PostgreSQL from the table's sequence, on SQLite past both the highest id and
``sqlite_sequence`` (the caller's ``BEGIN IMMEDIATE`` holds the write lock meanwhile, and SQLite
moves ``sqlite_sequence`` past explicit ids itself, so no id is ever used twice).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

Processor = Callable[[Any], Any]
_POSITIONAL = {"qmark": "?", "format": "%s", "numeric": ":{}", "numeric_dollar": "${}"}
COPY_FROM_ROWS = 16
"""PostgreSQL batches of at least this many rows are written with COPY: from about ten rows
on it costs the client and the backend less per row than a pipelined ``executemany`` (20 rows
of 13 columns: backend 12.5 -> 10 µs a row; 50 rows: 10 -> 5 µs), so the groups of small
sends (API, SMPP) take it too."""


async def allocate_ids(conn: AsyncConnection, table: Table, count: int) -> list[int]:
    """``count`` new, ascending primary keys of ``table`` (whose key is ``id``)."""
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        # The sequence is looked up once (per row, the catalog look-up cost the server ten
        # times what nextval does) and the ids come back as one array, not one row each.
        taken = await conn.execute(
            text(
                "WITH s AS MATERIALIZED (SELECT "
                f"pg_get_serial_sequence('{table.name}', 'id')::regclass AS seq) "
                "SELECT array_agg(nextval(s.seq)) FROM s, generate_series(1, :count)"
            ),
            {"count": count},
        )
        return sorted(taken.scalar_one())
    if conn.dialect.name == "sqlite":
        highest = (
            await conn.execute(
                text(
                    f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
                    f"'{table.name}'), 0), coalesce((SELECT max(id) FROM {table.name}), 0))"
                )
            )
        ).scalar_one()
        return list(range(int(highest) + 1, int(highest) + 1 + count))
    raise NotImplementedError(f"no id allocation for {conn.dialect.name}")


class BulkInsert:
    """``INSERT INTO table (columns) VALUES (...)`` for many rows given as tuples."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self._prepared: dict[tuple[str, str], tuple[str, list[tuple[int, Processor]]]] = {}

    async def run(self, conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        dialect = conn.dialect
        if dialect.paramstyle not in _POSITIONAL:
            await conn.execute(
                insert(self.table), [dict(zip(self.columns, row, strict=True)) for row in rows]
            )
            return
        sql, processors = self._prepare(dialect)
        values = _processed(rows, processors) if processors else list(rows)
        if dialect.name == "postgresql" and len(values) >= COPY_FROM_ROWS:
            driver = (await conn.get_raw_connection()).driver_connection
            if _in_transaction(driver):
                await self._copy(driver, sql, values)
                return
        await conn.exec_driver_sql(sql, values)

    async def _copy(self, driver: Any, sql: str, values: list[tuple[Any, ...]]) -> None:
        import asyncpg

        try:
            await driver.copy_records_to_table(
                self.table.name, records=values, columns=list(self.columns)
            )
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(sql, None, exc) from exc
        except (
            asyncpg.PostgresConnectionError,
            asyncpg.ConnectionDoesNotExistError,
            OSError,
        ) as exc:
            raise DBAPIError(sql, None, exc, connection_invalidated=True) from exc
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DBAPIError(sql, None, exc) from exc

    def _prepare(self, dialect: Dialect) -> tuple[str, list[tuple[int, Processor]]]:
        key = (dialect.name, dialect.paramstyle)
        found = self._prepared.get(key)
        if found is None:
            marker = _POSITIONAL[dialect.paramstyle]
            values = ", ".join(marker.format(i) for i in range(1, len(self.columns) + 1))
            quote = dialect.identifier_preparer.quote
            sql = (
                f"INSERT INTO {quote(self.table.name)} "
                f"({', '.join(quote(c) for c in self.columns)}) VALUES ({values})"
            )
            processors: list[tuple[int, Processor]] = []
            for index, name in enumerate(self.columns):
                column_type = self.table.c[name].type.dialect_impl(dialect)
                processor = column_type.bind_processor(dialect)
                if processor is not None:
                    processors.append((index, processor))
            found = self._prepared[key] = (sql, processors)
        return found


def _in_transaction(driver: Any) -> bool:
    """True when ``driver`` is an asyncpg connection inside the caller's transaction (COPY
    outside it would commit on its own)."""
    check = getattr(driver, "is_in_transaction", None)
    return bool(check()) if callable(check) else False


def _processed(
    rows: Sequence[tuple[Any, ...]], processors: list[tuple[int, Processor]]
) -> list[tuple[Any, ...]]:
    """The rows with each processed column's values converted. Rows of one request repeat the
    same objects (one ``created_at``, ``None``, ``True``): each is converted once."""
    last_in: list[Any] = [object()] * len(processors)
    last_out: list[Any] = [None] * len(processors)
    out = []
    for row in rows:
        values = list(row)
        for k, (index, processor) in enumerate(processors):
            value = values[index]
            if value is not last_in[k]:
                last_in[k] = value
                last_out[k] = processor(value)
            values[index] = last_out[k]
        out.append(tuple(values))
    return out
