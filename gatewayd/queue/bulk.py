"""Writing many rows at driver speed: ids taken before the insert, rows sent in one executemany.

SQLAlchemy Core compiles and processes every row of a multi-row insert in Python, which costs
more than the database itself once a request carries thousands of messages. Here the SQL is
written once per table and paramstyle, each value goes through the same bind processor Core
would apply (so what is stored is identical), and the rows reach the driver's own
``executemany`` (asyncpg pipelines them; sqlite3 loops in C). Errors still come out as
SQLAlchemy exceptions, since the statement runs through ``exec_driver_sql``.

On PostgreSQL several rows go in one statement, ``INSERT … SELECT … FROM unnest($1::bigint[],
…)`` with one array per column (a column holding one value in every row, as most columns of a
group of sends do, is sent as that value alone): one execution and one round trip, where
``executemany`` runs the statement once per row. Large batches go through ``COPY`` instead
(``copy_records_to_table`` on the transaction's own asyncpg connection), the cheapest per row
once its two round trips (the ``COPY`` is answered before the rows are sent) no longer count.
Its driver errors are converted here into the SQLAlchemy exceptions callers already handle: a
constraint violation into ``IntegrityError``, a lost connection into an invalidated
``DBAPIError`` (which the store reports as "database unavailable"). The arrays are cast to
the columns' types without their lengths (a cast to ``varchar(n)`` would cut a longer value
short): a value too long for its column is refused by the insert, as a row of its own would be.

Ids are taken up front, so a batch knows its ``batch_id`` without an ``UPDATE`` and nothing has
to be read back: on PostgreSQL from the table's sequence, on SQLite past both the highest id and
``sqlite_sequence`` (the caller's ``BEGIN IMMEDIATE`` holds the write lock meanwhile, and SQLite
moves ``sqlite_sequence`` past explicit ids itself, so no id is ever used twice).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any]
_POSITIONAL = {"qmark": "?", "format": "%s", "numeric": ":{}", "numeric_dollar": "${}"}
UNNEST_FROM_ROWS = 2
"""PostgreSQL batches of at least this many rows are written by one ``INSERT … unnest``."""
COPY_FROM_ROWS = 1000
"""PostgreSQL batches of at least this many rows are written with COPY."""


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
        self._unnest_sql: dict[tuple[str, int, tuple[bool, ...]], str] = {}

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
        if dialect.name == "postgresql" and len(values) >= UNNEST_FROM_ROWS:
            shared, parameters = _columns(values)
            await conn.exec_driver_sql(self._unnest(dialect, 1, shared), tuple(parameters))
            return
        await conn.exec_driver_sql(sql, values)

    def parameters(self, rows: Rows, dialect: Dialect) -> tuple[tuple[bool, ...], list[Any]]:
        """The processed values of ``rows`` as :meth:`_unnest`'s statement takes them: which
        columns hold one value in every row, and per column that value or the list of all."""
        _, processors = self._prepare(dialect)
        return _columns(_processed(rows, processors) if processors else rows)

    def _unnest(self, dialect: Dialect, first: int, shared: tuple[bool, ...]) -> str:
        """``INSERT … SELECT … FROM unnest(…)``, its parameters numbered from ``first``: an
        array for each column, a single value for a ``shared`` one."""
        key = (dialect.paramstyle, first, shared)
        found = self._unnest_sql.get(key)
        if found is None:
            marker = _POSITIONAL[dialect.paramstyle]
            picked: list[str] = []
            arrays: list[str] = []
            names: list[str] = []
            for number, (name, single) in enumerate(
                zip(self.columns, shared, strict=True), start=first
            ):
                cast = _cast_type(self.table.c[name].type, dialect)
                if single:
                    picked.append(f"{marker.format(number)}::{cast}")
                else:
                    names.append(f"c{len(names)}")
                    picked.append(f"u.{names[-1]}")
                    arrays.append(f"{marker.format(number)}::{cast}[]")
            quote = dialect.identifier_preparer.quote
            found = self._unnest_sql[key] = (
                f"INSERT INTO {quote(self.table.name)} "
                f"({', '.join(quote(c) for c in self.columns)}) SELECT {', '.join(picked)} "
                f"FROM unnest({', '.join(arrays)}) AS u({', '.join(names)})"
            )
        return found

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


Rows = Sequence[tuple[Any, ...]]


async def insert_together(conn: AsyncConnection, writes: Sequence[tuple[BulkInsert, Rows]]) -> None:
    """The rows of several tables (``writes``: each insert with its rows), in order. On
    PostgreSQL in one statement, one round trip: every table's ``INSERT … unnest`` but the
    last runs as a data-modifying ``WITH`` of the last (foreign keys are checked when the
    whole statement ends, so a table may come before the one it refers to). Elsewhere, or
    with a batch large enough for COPY, one :meth:`BulkInsert.run` each."""
    writes = [(insert, rows) for insert, rows in writes if rows]
    dialect = conn.dialect
    if (
        dialect.name != "postgresql"
        or dialect.paramstyle not in _POSITIONAL
        or len(writes) < 2
        or any(len(rows) >= COPY_FROM_ROWS for _, rows in writes)
    ):
        for insert, rows in writes:
            await insert.run(conn, rows)
        return
    statements: list[str] = []
    parameters: list[Any] = []
    for insert, rows in writes:
        shared, values = insert.parameters(rows, dialect)
        statements.append(insert._unnest(dialect, len(parameters) + 1, shared))
        parameters.extend(values)
    *first, last = statements
    steps = ", ".join(f"w{index} AS ({sql})" for index, sql in enumerate(first, start=1))
    await conn.exec_driver_sql(f"WITH {steps} {last}", tuple(parameters))


def _columns(values: Rows) -> tuple[tuple[bool, ...], list[Any]]:
    """Which columns of ``values`` hold one value in every row (the first never counts: the
    statement unnests at least one array), and per column that value or the list of all.
    A value sent once is encoded once: most columns of a group of sends are the same."""
    shared: list[bool] = []
    parameters: list[Any] = []
    for index, column in enumerate(zip(*values, strict=True)):
        single = index > 0 and column.count(column[0]) == len(column)
        shared.append(single)
        parameters.append(column[0] if single else list(column))
    return tuple(shared), parameters


def _cast_type(column_type: TypeEngine[Any], dialect: Dialect) -> str:
    """The type a column's values are cast to, its length left out (``varchar(32)`` ->
    ``varchar``): a cast would cut a longer value short, the insert refuses it."""
    return _LENGTH.sub("", column_type.compile(dialect=dialect))


_LENGTH = re.compile(r"\(\d+(?:,\s*\d+)?\)")


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
