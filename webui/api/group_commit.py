"""Group commit for small sends: concurrent requests share one transaction.

A single ``POST /api/v1/messages`` costs little to validate but a whole transaction to store
(messages, parts, events, the audit entry, the commit): under load the database round trips,
not the work, set the pace. Small requests without an ``Idempotency-Key`` are therefore queued
here and written together: while one transaction is in flight the next requests gather, and
the next transaction takes them all (up to :data:`MAX_GROUP`). Nobody waits for a timer: an
idle server writes a lone request at once, a busy one writes bigger groups, and on PostgreSQL a
second transaction runs beside the first once enough requests wait (their commits' flushes
overlap).

Each request still gets what it would have alone: its own ids (no ``batch_id`` for a single
message), its own audit entry, its own answer. When the database is unreachable every request
of the group gets :class:`~gatewayd.store.DatabaseUnavailable`; when the group fails for any
other reason (one request's text the database refuses, a constraint), each request is retried
in a transaction of its own, so one bad request never fails the others. gatewayd is woken once
per group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.bus import WAKE, queued_wake
from gatewayd.queue.bulk import BulkInsert
from gatewayd.queue.enqueue import PreparedMessage, QueueRequest, enqueue_requests
from gatewayd.store import DatabaseUnavailable, audit_log, utc_now
from webui.keys import BUS, DB

log = structlog.get_logger(__name__)

MAX_GROUP = 256
"""Requests written in one transaction at most."""
MAX_MESSAGES = 20
"""Requests with more messages than this get a transaction of their own."""

SECOND_WRITER_AT = 8
"""While one group is being written, this many waiting requests start a second transaction
(PostgreSQL only: its commits overlap; SQLite has one writer at a time anyway)."""

AfterInsert = Callable[[AsyncConnection, list[int]], Awaitable[None]]


@dataclass(frozen=True)
class AuditEntry:
    """What :func:`webui.audit.record` would write for a request (same truncation)."""

    actor: str
    action: str
    target: str | None
    detail: dict[str, Any] | None
    client_address: str | None

    def row(self, at: datetime) -> tuple[Any, ...]:
        return (
            at,
            self.actor[:100],
            self.action[:64],
            self.target[:200] if self.target else None,
            self.detail,
            self.client_address[:64] if self.client_address else None,
        )


@dataclass(frozen=True)
class GroupedSend:
    """One request's messages, who sent them, and what else its transaction must write."""

    messages: Sequence[PreparedMessage]
    created_by: str
    audit: Callable[[list[int]], AuditEntry]
    extra: AfterInsert | None = None


Queued = tuple[list[int], datetime]
"""A request's message ids and their ``created_at``."""

_insert_audit = BulkInsert(
    audit_log, ("at", "actor", "action", "target", "detail", "client_address")
)


class GroupCommitter:
    """Gathers :class:`GroupedSend` requests and writes them a group per transaction."""

    def __init__(self) -> None:
        self._pending: list[tuple[GroupedSend, asyncio.Future[Queued]]] = []
        self._writers: set[asyncio.Task[None]] = set()

    async def queue(self, app: web.Application, send: GroupedSend) -> Queued:
        """Write ``send`` with whatever else is waiting; its ids once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Queued] = loop.create_future()
        self._pending.append((send, future))
        if not self._writers or (
            len(self._pending) >= SECOND_WRITER_AT
            and len(self._writers) < _writers_for(app[DB].dialect_name)
        ):
            writer = loop.create_task(self._write_pending(app), name="api-group-commit")
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        return await future

    async def _write_pending(self, app: web.Application) -> None:
        try:
            while self._pending:
                group = self._pending[:MAX_GROUP]
                del self._pending[:MAX_GROUP]
                try:
                    written = await self._write_group(app, group)
                except BaseException:
                    for _, future in [*group, *self._pending]:
                        future.cancel()
                    self._pending.clear()
                    raise
                if written:
                    await _wake(app, [send for send, _ in group])
        finally:
            # Leave the set in the same step that found nothing pending: a done-callback
            # would run a loop turn later, and a request queued in between would find a
            # writer that no longer writes and wait for the next request to start one.
            current = asyncio.current_task()
            if current is not None:
                self._writers.discard(current)

    async def _write_group(
        self, app: web.Application, group: list[tuple[GroupedSend, asyncio.Future[Queued]]]
    ) -> bool:
        """Write ``group`` and settle its futures; True when anything was committed."""
        now = utc_now()
        try:
            id_lists = await _write(app, [send for send, _ in group], now)
        except DatabaseUnavailable as exc:
            _fail(group, exc)
            return False
        except Exception as exc:
            if len(group) == 1:
                _fail(group, exc)
                return False
            log.info(
                "Group commit failed, writing its requests one by one",
                requests=len(group),
                reason=type(exc).__name__,
            )
            written = False
            for one in group:
                written = await self._write_group(app, [one]) or written
            return written
        for (_, future), ids in zip(group, id_lists, strict=True):
            if not future.done():
                future.set_result((ids, now))
        return True


async def _write(app: web.Application, sends: list[GroupedSend], now: datetime) -> list[list[int]]:
    async with app[DB].begin() as conn:
        id_lists = await enqueue_requests(
            conn, [QueueRequest(s.messages, s.created_by) for s in sends], now=now
        )
        await _insert_audit.run(
            conn, [s.audit(ids).row(now) for s, ids in zip(sends, id_lists, strict=True)]
        )
        for send, ids in zip(sends, id_lists, strict=True):
            if send.extra is not None:
                await send.extra(conn, ids)
    return id_lists


async def _wake(app: web.Application, sends: list[GroupedSend]) -> None:
    messages = [m for send in sends for m in send.messages]
    try:
        modems = (m.request.modem for m in messages)
        await app[BUS].publish(WAKE, queued_wake(len(messages), modems))
    except Exception:  # a wake-up is a hint: the workers poll anyway
        log.exception("Wake-up after a group commit failed")


def _writers_for(dialect_name: str) -> int:
    return 2 if dialect_name == "postgresql" else 1


def _fail(group: list[tuple[GroupedSend, asyncio.Future[Queued]]], exc: BaseException) -> None:
    for _, future in group:
        if not future.done():
            future.set_exception(exc)


GROUP_COMMIT = web.AppKey("group_commit", GroupCommitter)
