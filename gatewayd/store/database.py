"""The database handle: one async engine, transactions, and the "database unavailable" boundary.

Both back ends go through SQLAlchemy's asyncio engine (asyncpg for PostgreSQL, aiosqlite for
SQLite). Driver connection errors are turned into :class:`DatabaseUnavailable` here and nowhere
else, so callers catch one exception whose message is one line fit for a log or a terminal.

SQLite is set up for one writer at a time: WAL (readers never block the writer), foreign keys
on, a busy timeout, and write transactions opened with ``BEGIN IMMEDIATE`` so two writers queue
on the lock instead of failing when a read transaction tries to become a write.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gatewayd.config.dburl import describe_database, parse_database_url
from gatewayd.config.model import DatabaseSettings
from gatewayd.private_files import create_private, make_private

BEGIN_MODE_OPTION = "gatewayd_sqlite_begin"
SQLITE_POOL_MAX = 8
"""SQLite takes one writer at a time, and every connection is a thread with its own page
cache (2 MB each at 64 modems): more than a few only cost memory."""
READ_ONLY = "gatewayd_read_only"
_READING = ("SELECT", "WITH", "SHOW", "EXPLAIN", "VALUES")


class WriteInReadError(RuntimeError):
    """A statement that changes data was run in :meth:`Database.read` (a bug)."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached or was lost mid-transaction; ``str()`` is one line."""


class Database:
    """An open connection pool to the gateway's database.

    ``async with db.begin() as conn`` runs one write transaction (committed on success, rolled
    back on error); ``async with db.read() as conn`` one read-only unit of work.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 20,
        connect_timeout: float = 10.0,
        pre_ping: bool = False,
        idle_in_transaction_timeout: float | None = None,
    ) -> None:
        """``url`` as users write it (``postgresql://…``, ``sqlite:///…``) or in async form.

        ``pre_ping`` checks a pooled PostgreSQL connection before each use: one more round
        trip for every transaction and page, for little: after a server restart the first
        failure (a :class:`DatabaseUnavailable`, which callers handle) discards the whole
        pool, so only the work in flight at that moment sees the restart.

        ``idle_in_transaction_timeout`` (PostgreSQL) has the server end a session of this
        process that sits in an open transaction that long without a word: a process cut off
        from the database mid-transaction then holds its row locks no longer than that."""
        parsed = parse_database_url(url)
        self.description = describe_database(url)
        self.connect_timeout = connect_timeout
        if parsed.drivername.startswith("sqlite"):
            self.sqlite_path: Path | None = Path(parsed.database or "")
            self._sqlite_opened_once = False
            self.engine: AsyncEngine = create_async_engine(
                parsed,
                pool_size=min(pool_size, SQLITE_POOL_MAX),
                max_overflow=0,
                pool_timeout=connect_timeout,
                connect_args={"timeout": connect_timeout},
            )
            _install_sqlite_setup(self.engine, busy_timeout_ms=int(connect_timeout * 1000))
        else:
            self.sqlite_path = None
            connect_args: dict[str, Any] = {"timeout": connect_timeout}
            if idle_in_transaction_timeout is not None:
                millis = str(max(1, int(idle_in_transaction_timeout * 1000)))
                connect_args["server_settings"] = {"idle_in_transaction_session_timeout": millis}
            # No overflow: a connection opened for a peak and closed right after costs both
            # processes far more CPU than waiting a few milliseconds for a pooled one, and
            # under load such churn feeds on itself.
            self.engine = create_async_engine(
                parsed,
                pool_size=pool_size,
                max_overflow=0,
                pool_timeout=connect_timeout,
                pool_pre_ping=pre_ping,
                connect_args=connect_args,
            )
            _refuse_writes_in_reads(self.engine)

    @classmethod
    def from_settings(
        cls,
        settings: DatabaseSettings,
        *,
        pre_ping: bool = False,
        idle_in_transaction_timeout: float | None = None,
    ) -> Database:
        return cls(
            settings.sqlalchemy_url,
            pool_size=settings.pool_size,
            connect_timeout=settings.connect_timeout,
            pre_ping=pre_ping,
            idle_in_transaction_timeout=idle_in_transaction_timeout,
        )

    @property
    def dialect_name(self) -> str:
        """``"postgresql"`` or ``"sqlite"``."""
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: commit when the block ends, roll back when it raises."""
        async with self._connection("IMMEDIATE") as conn, conn.begin():
            yield conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A unit of work that only reads. SQLite: a deferred transaction (no write lock),
        rolled back at the end. PostgreSQL: autocommit, each statement seeing the latest
        commits, which spares the ``BEGIN`` and ``ROLLBACK`` round trips of every page and
        API read."""
        async with self._connection("DEFERRED") as conn:
            if self.sqlite_path is None:
                await conn.execution_options(isolation_level="AUTOCOMMIT", **{READ_ONLY: True})
            yield conn

    async def ping(self) -> None:
        """Raise :class:`DatabaseUnavailable` unless the database answers a query."""
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    async def run_outside_transaction(self, statement: str) -> None:
        """Run a maintenance statement that PostgreSQL refuses inside a transaction
        (``VACUUM``)."""
        async with self._connection("DEFERRED") as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(statement)

    async def setting(self, name: str) -> str | None:
        """A PostgreSQL server setting (``SHOW``); None on SQLite."""
        if self.sqlite_path is not None:
            return None
        async with self.read() as conn:
            value = (await conn.exec_driver_sql(f"SHOW {name}")).scalar()
        return None if value is None else str(value)

    def pool_status(self) -> dict[str, int]:
        """Pool figures for metrics: ``size``, ``checked_out``, ``overflow``."""
        pool: Any = self.engine.pool
        return {
            "size": int(pool.size()),
            "checked_out": int(pool.checkedout()),
            "overflow": max(0, int(pool.overflow())),
        }

    async def close(self) -> None:
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def _connection(self, sqlite_begin: str) -> AsyncIterator[AsyncConnection]:
        try:
            if self.sqlite_path is not None and not self._sqlite_opened_once:
                await asyncio.to_thread(_open_sqlite_file, self.sqlite_path, self.connect_timeout)
                self._sqlite_opened_once = True
            conn = await self.engine.connect()
        except (OSError, TimeoutError, DBAPIError, PoolTimeout, sqlite3.Error) as exc:
            raise DatabaseUnavailable(self.unavailable_message(exc)) from exc
        try:
            if self.sqlite_path is not None:
                await conn.execution_options(**{BEGIN_MODE_OPTION: sqlite_begin})
            yield conn
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise DatabaseUnavailable(self.lost_message(exc)) from exc
            if _sqlstate(exc) in NOT_THE_PRIMARY:
                # A server that became a standby (or is shutting down) under a pooled
                # connection: the connection goes, the next one looks for the primary.
                with contextlib.suppress(Exception):
                    await conn.invalidate()
                raise DatabaseUnavailable(self.lost_message(exc)) from exc
            raise
        finally:
            await conn.close()

    def unavailable_message(self, exc: BaseException) -> str:
        verb = "open" if self.sqlite_path is not None else "connect to"
        return f"cannot {verb} {self.description}: {failure_reason(exc, self.connect_timeout)}"

    def lost_message(self, exc: BaseException) -> str:
        reason = failure_reason(exc, self.connect_timeout)
        return f"lost the connection to {self.description}: {reason}"


NOT_THE_PRIMARY = frozenset({"25006", "57P01", "57P02", "57P03"})
"""SQLSTATEs of a server that takes no more writes from this connection: read-only
transaction (a standby: the primary failed over), admin shutdown, crash shutdown, cannot
connect now (starting up or shutting down)."""


def _sqlstate(exc: DBAPIError) -> str | None:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return str(code) if code else None


def failure_reason(exc: BaseException, timeout: float) -> str:
    """A short, one-line reason for a driver error, without SQLAlchemy's wrapping."""
    root = _innermost(exc)
    if isinstance(root, PoolTimeout):
        return f"every pooled connection stayed busy for {timeout:g} s"
    if isinstance(root, ConnectionRefusedError) or "Connect call failed" in str(root):
        return "connection refused"
    if isinstance(root, socket.gaierror):
        return "host name not found"
    if isinstance(root, TimeoutError):
        return f"no answer within {timeout:g} s"
    message = str(root).strip() or type(root).__name__
    if message.startswith("<class "):
        message = message.split(": ", 1)[-1]
    return " ".join(message.split())


def _innermost(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "orig", None) or current.__cause__
        if not isinstance(inner, BaseException):
            break
        current = inner
    return current


SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def _open_sqlite_file(path: Path, timeout: float) -> None:
    """Create the file (and its directory) or fail, before aiosqlite is involved.

    aiosqlite leaves its worker thread behind when its own connect fails, so the usual failure
    (a path that cannot be opened) is found here instead. The file is created with mode 0600
    (SQLite gives its WAL and shared-memory files the database's mode), and the database and
    its companions are tightened to that when found looser.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        create_private(path)
    except OSError as exc:
        where = path if path.parent.is_dir() else path.parent
        raise sqlite3.OperationalError(f"cannot create {where}: {exc.strerror}") from None
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)):
        make_private(file)
    sqlite3.connect(path, timeout=timeout).close()


def _refuse_writes_in_reads(engine: AsyncEngine) -> None:
    """Reads run in autocommit on PostgreSQL, so a write slipped into one would be kept: it
    is refused before it reaches the server."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def check(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
            if verb not in _READING:
                raise WriteInReadError(
                    f"{verb or 'an empty statement'} in a read-only unit of work"
                )


def _install_sqlite_setup(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is switched off: BEGIN is issued in on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(BEGIN_MODE_OPTION, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")
