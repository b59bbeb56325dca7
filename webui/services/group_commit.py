"""Group commit for small sends: concurrent requests share one transaction (the mechanism is
:mod:`gatewayd.store.group_commit`; what a group writes and whom it wakes is here).

A single ``POST /api/v1/messages`` costs little to validate but a whole transaction to store
(messages, parts, events, the audit entry, the commit): under load the database round trips,
not the work, set the pace. Small requests without an ``Idempotency-Key`` are therefore queued
here and written together: while one transaction is in flight the next requests gather, and
the next transaction takes them all (up to :data:`MAX_GROUP`). Nobody waits for a timer: an
idle server writes a lone request at once, a busy one writes bigger groups, and on PostgreSQL a
second transaction runs beside the first once enough requests wait (their commits' flushes
overlap).

Each request still gets what it would have alone: its own ids (no ``batch_id`` for a single
message), its own audit entry, its own answer. The opt-out and block lists are looked up once
for the whole group, in its transaction: a request to a refused recipient is answered
``opted_out`` (:class:`~gatewayd.queue.InvalidMessage`) and left out, the others are written.
When the database is unreachable every request of the group gets
:class:`~gatewayd.store.DatabaseUnavailable`; when the group fails for any other reason (one
request's text the database refuses, a constraint), each request is retried in a transaction
of its own, so one bad request never fails the others. gatewayd is woken once per group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.bus import Bus
from gatewayd.events import WAKE, WakeUp
from gatewayd.queue import InvalidMessage
from gatewayd.queue.bulk import BulkInsert
from gatewayd.queue.enqueue import PreparedMessage, QueueRequest, enqueue_requests
from gatewayd.queue.suppression import refusals
from gatewayd.store import Database, audit_log, utc_now
from gatewayd.store.group_commit import Failed, GroupCommit, Pending
from webui.services.lifecycle import announce_queued, log_queued

log = structlog.get_logger(__name__)

MAX_GROUP = 256
"""Requests written in one transaction at most."""
MAX_MESSAGES = 20
"""Requests with more messages than this get a transaction of their own."""

SECOND_WRITER_AT = 8
"""While one group is being written, this many waiting requests start a second transaction
(PostgreSQL only: its commits overlap; SQLite has one writer at a time anyway)."""

AfterInsert = Callable[[AsyncConnection, list[int]], Awaitable[None]]
"""Statements a request runs in its transaction after its messages are inserted."""


@dataclass(frozen=True)
class SideRows:
    """Rows of another table that a request's messages need (an SMPP submit's fields): built
    from the request's message ids, and written for the whole group in one insert."""

    insert: BulkInsert
    rows: Callable[[list[int]], Sequence[tuple[Any, ...]]]

    async def write(self, conn: AsyncConnection, ids: list[int]) -> None:
        """This request's rows alone (a request written outside a group)."""
        await self.insert.run(conn, self.rows(ids))


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
    account_id: int | None = None
    side_rows: SideRows | None = None


Queued = tuple[list[int], datetime]
"""A request's message ids and their ``created_at``."""

_insert_audit = BulkInsert(
    audit_log, ("at", "actor", "action", "target", "detail", "client_address")
)


class SendGroup(GroupCommit[GroupedSend, Queued]):
    """Small sends, written a group per transaction; gatewayd is woken once per group."""

    def __init__(self, db: Database, bus: Bus) -> None:
        super().__init__("api-group-commit", max_batch=MAX_GROUP, second_writer_at=SECOND_WRITER_AT)
        self.db = db
        self.bus = bus
        self._written: dict[int, list[int]] = {}
        """Ids each request got, by ``id()`` of its item, until its group is announced."""

    def writers_allowed(self) -> int:
        return _writers_for(self.db.dialect_name)

    async def transaction(self, batch: list[Pending[GroupedSend, Queued]]) -> list[Queued | Failed]:
        now = utc_now()
        items = [pending.item for pending in batch]
        written = await _write(self.db, items, now)
        outcomes: list[Queued | Failed] = []
        for item, ids in zip(items, written, strict=True):
            if isinstance(ids, Failed):
                outcomes.append(ids)
                continue
            log_queued(ids, item.messages, item.created_by)
            self._written[id(item)] = ids
            outcomes.append((ids, now))
        return outcomes

    async def committed(self, batch: list[GroupedSend]) -> None:
        written = [item for item in batch if id(item) in self._written]
        ids = [i for item in written for i in self._written.pop(id(item))]
        # Both are hints that never raise; sent together, the writer is free a round trip sooner.
        await asyncio.gather(_wake(self.bus, written), announce_queued(self.bus, ids))


async def _write(db: Database, sends: list[GroupedSend], now: datetime) -> list[list[int] | Failed]:
    """Write the group; each send's ids, or :class:`Failed` for one to a refused recipient."""
    async with db.begin() as conn:
        refused = await refusals(conn, [m.recipient for s in sends for m in s.messages])
        outcomes: list[list[int] | Failed] = []
        kept: list[GroupedSend] = []
        for send in sends:
            reason = next(
                (refused[m.recipient] for m in send.messages if m.recipient in refused), None
            )
            if reason is None:
                kept.append(send)
                outcomes.append([])
            else:
                outcomes.append(Failed(InvalidMessage("opted_out", reason, "to")))
        id_lists = await enqueue_requests(
            conn,
            [QueueRequest(s.messages, s.created_by, None, s.account_id) for s in kept],
            now=now,
            suppressions_checked=True,
            also=partial(_audit_and_side_rows, kept, now),
        )
        for send, ids in zip(kept, id_lists, strict=True):
            if send.extra is not None:
                await send.extra(conn, ids)
    written = iter(id_lists)
    return [outcome if isinstance(outcome, Failed) else next(written) for outcome in outcomes]


def _audit_and_side_rows(
    sends: list[GroupedSend], now: datetime, id_lists: list[list[int]]
) -> list[tuple[BulkInsert, list[tuple[Any, ...]]]]:
    """The group's audit entries and its side rows (one insert per table), from the ids."""
    writes = [
        (_insert_audit, [s.audit(ids).row(now) for s, ids in zip(sends, id_lists, strict=True)])
    ]
    side: dict[int, tuple[BulkInsert, list[tuple[Any, ...]]]] = {}
    for send, ids in zip(sends, id_lists, strict=True):
        if send.side_rows is not None:
            insert = send.side_rows.insert
            side.setdefault(id(insert), (insert, []))[1].extend(send.side_rows.rows(ids))
    return writes + list(side.values())


async def _wake(bus: Bus, sends: list[GroupedSend]) -> None:
    messages = [m for send in sends for m in send.messages]
    if not messages:
        return
    try:
        modems = (m.request.modem for m in messages)
        await bus.publish(WAKE, WakeUp.queued(len(messages), modems))
    except Exception:  # a wake-up is a hint: the workers poll anyway
        log.exception("Wake-up after a group commit failed")


def _writers_for(dialect_name: str) -> int:
    return 2 if dialect_name == "postgresql" else 1
