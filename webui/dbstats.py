"""Database figures for the metrics: is the database up (a cheap ping with a short timeout), how
long the application's own queries take (p95 over a rolling window, timed by SQLAlchemy cursor
events on the shared engine), and how many sessions wait on locks (PostgreSQL only).

:data:`QUERY_TIMER` holds the process's :class:`QueryTimer`; :func:`query_timing_context` is the
``cleanup_ctx`` that hooks it to the engine while the application runs.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gatewayd.store import Database, DatabaseUnavailable
from webui.keys import DB

PING_TIMEOUT_SECONDS = 1.0
QUERY_WINDOW_SECONDS = 300.0
MAX_QUERY_SAMPLES = 20_000
STARTED_KEY = "smsgw_query_started"


class QueryTimer:
    """Durations of the cursor executions of one engine over the last ``window`` seconds."""

    def __init__(
        self, window: float = QUERY_WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self._clock = clock
        self._samples: deque[tuple[float, float]] = deque(maxlen=MAX_QUERY_SAMPLES)
        self._engine: Engine | None = None

    def record(self, seconds: float) -> None:
        self._samples.append((self._clock(), seconds))

    def summary(self) -> dict[str, float | int | None]:
        """``queries`` in the window and their ``p95_ms`` (None without any)."""
        horizon = self._clock() - self.window
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()
        durations = sorted(sample[1] for sample in self._samples)
        if not durations:
            return {"window_seconds": self.window, "queries": 0, "p95_ms": None}
        p95 = durations[max(0, math.ceil(0.95 * len(durations)) - 1)]
        return {
            "window_seconds": self.window,
            "queries": len(durations),
            "p95_ms": round(p95 * 1000, 2),
        }

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "handle_error", self._failed)
        self._engine = engine

    def detach(self) -> None:
        if self._engine is None:
            return
        event.remove(self._engine, "before_cursor_execute", self._before)
        event.remove(self._engine, "after_cursor_execute", self._after)
        event.remove(self._engine, "handle_error", self._failed)
        self._engine = None

    def _before(
        self,
        conn: Any,
        _cursor: Any,
        _statement: Any,
        _params: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        conn.info.setdefault(STARTED_KEY, []).append(time.perf_counter())

    def _after(
        self,
        conn: Any,
        _cursor: Any,
        _statement: Any,
        _params: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        started = conn.info.get(STARTED_KEY)
        if started:
            self.record(time.perf_counter() - started.pop())

    def _failed(self, context: Any) -> None:
        started = context.connection.info.get(STARTED_KEY) if context.connection else None
        if started:
            started.pop()


QUERY_TIMER: web.AppKey[QueryTimer] = web.AppKey("query_timer", QueryTimer)


async def query_timing_context(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: time every query of the application's engine while it runs."""
    timer = QueryTimer()
    timer.attach(app[DB].engine.sync_engine)
    app[QUERY_TIMER] = timer
    try:
        yield
    finally:
        timer.detach()


async def database_up(db: Database, timeout: float = PING_TIMEOUT_SECONDS) -> bool:
    """True when the database answers ``SELECT 1`` within ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            await db.ping()
    except (DatabaseUnavailable, TimeoutError, SQLAlchemyError, OSError):
        return False
    return True


LOCK_WAITS_SQL = text(
    """
    SELECT
      (SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE NOT l.granted AND a.datname = current_database()) AS waiting_locks,
      count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting_backends,
      count(*) AS backends
    FROM pg_stat_activity
    WHERE datname = current_database() AND backend_type = 'client backend'
    """
)


async def lock_waits(db: Database) -> dict[str, float | int] | None:
    """PostgreSQL: lock requests not granted to this database's backends (other databases on
    the same server are not counted), and the share of its client backends waiting on a lock.
    SQLite has no such view: None."""
    if db.dialect_name != "postgresql":
        return None
    async with db.read() as conn:
        row = (await conn.execute(LOCK_WAITS_SQL)).one()
    backends = max(1, int(row.backends))
    return {
        "waiting_locks": int(row.waiting_locks),
        "waiting_backends": int(row.waiting_backends),
        "backends": int(row.backends),
        "share": round(int(row.waiting_backends) / backends, 4),
    }
