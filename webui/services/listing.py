"""The lists an operator filters, pages through and exports: outgoing messages, received
messages and the audit log. One filter type per list, read from the pages' and the API's
parameters alike, and one query builder for each, so a page, its CSV export and the API answer
the same rows for the same filter.

Lists are newest first with keyset pages (``before``: the last id of the previous page).
:func:`batches` walks a whole list in pages of its own for streamed CSV exports, each page in a
short read transaction of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import Database, audit_log, contacts, incoming_messages, messages
from webui.services.addressbook import escape_like

EXPORT_BATCH = 500


def _like(column: ColumnElement[Any], text: str, *, fold: bool = False) -> ColumnElement[bool]:
    pattern = f"%{escape_like(text)}%"
    return column.ilike(pattern, escape="\\") if fold else column.like(pattern, escape="\\")


def _named(column: ColumnElement[Any], text: str) -> ColumnElement[bool]:
    """Numbers of contacts whose name holds ``text``."""
    names = select(contacts.c.number).where(_like(contacts.c.name, text, fold=True))
    return column.in_(names.scalar_subquery())


@dataclass(frozen=True)
class MessageFilter:
    """Outgoing messages: by status, recipient (E.164), modem, time queued, text, batch."""

    status: str = ""
    to: str = ""
    modem: str = ""
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""
    """Part of the number, the text, or a contact's name."""
    batch: int | None = None
    before: int | None = None

    @property
    def active(self) -> bool:
        return any((self.status, self.to, self.modem, self.since, self.until, self.q, self.batch))

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.status:
            found.append(messages.c.status == self.status)
        if self.to:
            found.append(messages.c.recipient == self.to)
        if self.modem:
            found.append(
                or_(messages.c.assigned_modem == self.modem, messages.c.modem == self.modem)
            )
        if self.since is not None:
            found.append(messages.c.created_at >= self.since)
        if self.until is not None:
            found.append(messages.c.created_at < self.until)
        if self.q:
            found.append(
                or_(
                    _like(messages.c.recipient, self.q),
                    _like(messages.c.text, self.q),
                    _named(messages.c.recipient, self.q),
                )
            )
        if self.batch is not None:
            found.append(or_(messages.c.batch_id == self.batch, messages.c.id == self.batch))
        if self.before is not None:
            found.append(messages.c.id < self.before)
        return found


def message_query(wanted: MessageFilter, limit: int) -> Select[Any]:
    """Messages (every column) with the recipient's contact name, newest first."""
    return (
        select(messages, contacts.c.name.label("contact_name"))
        .select_from(messages.outerjoin(contacts, contacts.c.number == messages.c.recipient))
        .where(and_(true(), *wanted.conditions()))
        .order_by(messages.c.id.desc())
        .limit(limit)
    )


@dataclass(frozen=True)
class InboxFilter:
    """Received messages: by sender, modem, time received, text, read or not."""

    sender: str = ""
    modem: str = ""
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""
    unread: bool = False
    before: int | None = None

    @property
    def active(self) -> bool:
        return any((self.sender, self.modem, self.since, self.until, self.q, self.unread))

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.sender:
            found.append(incoming_messages.c.sender == self.sender)
        if self.modem:
            found.append(incoming_messages.c.modem == self.modem)
        if self.since is not None:
            found.append(incoming_messages.c.received_at >= self.since)
        if self.until is not None:
            found.append(incoming_messages.c.received_at < self.until)
        if self.q:
            found.append(
                or_(
                    _like(incoming_messages.c.sender, self.q),
                    _like(incoming_messages.c.text, self.q),
                    _named(incoming_messages.c.sender, self.q),
                )
            )
        if self.unread:
            found.append(incoming_messages.c.read_at.is_(None))
        if self.before is not None:
            found.append(incoming_messages.c.id < self.before)
        return found


def inbox_query(wanted: InboxFilter, limit: int) -> Select[Any]:
    """Received messages with the sender's contact name, newest first."""
    return (
        select(incoming_messages, contacts.c.name.label("contact_name"))
        .select_from(
            incoming_messages.outerjoin(contacts, contacts.c.number == incoming_messages.c.sender)
        )
        .where(and_(true(), *wanted.conditions()))
        .order_by(incoming_messages.c.id.desc())
        .limit(limit)
    )


@dataclass(frozen=True)
class Thread:
    sender: str
    name: str | None
    """The sender's contact name, when in the address book."""
    last_id: int
    last_text: str
    last_at: datetime
    count: int
    unread: int
    modem: str


async def inbox_threads(
    conn: AsyncConnection, wanted: InboxFilter, limit: int = 100
) -> list[Thread]:
    """One row per sender of the messages ``wanted`` selects, the latest conversation first:
    its newest such message, how many there are and how many are unread."""
    unread = func.sum(case((incoming_messages.c.read_at.is_(None), 1), else_=0))
    latest = (
        select(
            incoming_messages.c.sender,
            func.max(incoming_messages.c.id).label("last_id"),
            func.count().label("n"),
            unread.label("unread"),
        )
        .where(and_(true(), *wanted.conditions()))
        .group_by(incoming_messages.c.sender)
        .subquery()
    )
    query = (
        select(
            incoming_messages.c.id,
            incoming_messages.c.sender,
            incoming_messages.c.text,
            incoming_messages.c.received_at,
            incoming_messages.c.modem,
            latest.c.n,
            latest.c.unread,
            contacts.c.name,
        )
        .join(latest, incoming_messages.c.id == latest.c.last_id)
        .outerjoin(contacts, contacts.c.number == incoming_messages.c.sender)
        .order_by(incoming_messages.c.id.desc())
        .limit(limit)
    )
    return [
        Thread(
            row.sender,
            row.name,
            row.id,
            row.text,
            row.received_at,
            int(row.n),
            int(row.unread or 0),
            row.modem,
        )
        for row in await conn.execute(query)
    ]


async def unread_count(conn: AsyncConnection) -> int:
    found = await conn.execute(
        select(func.count())
        .select_from(incoming_messages)
        .where(incoming_messages.c.read_at.is_(None))
    )
    return int(found.scalar_one())


@dataclass(frozen=True)
class AuditFilter:
    """Audit entries: by who, what, when, and text in the target or detail."""

    actor: str = ""
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""
    before: int | None = None

    @property
    def active(self) -> bool:
        return any((self.actor, self.action, self.since, self.until, self.q))

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.actor:
            found.append(audit_log.c.actor == self.actor)
        if self.action:
            found.append(
                or_(
                    audit_log.c.action == self.action,
                    audit_log.c.action.startswith(f"{self.action}.", autoescape=True),
                )
            )
        if self.since is not None:
            found.append(audit_log.c.at >= self.since)
        if self.until is not None:
            found.append(audit_log.c.at < self.until)
        if self.q:
            found.append(
                or_(
                    _like(audit_log.c.target, self.q, fold=True),
                    _like(audit_log.c.actor, self.q, fold=True),
                    _like(audit_log.c.client_address, self.q),
                )
            )
        if self.before is not None:
            found.append(audit_log.c.id < self.before)
        return found


def audit_query(wanted: AuditFilter, limit: int) -> Select[Any]:
    return (
        select(audit_log)
        .where(and_(true(), *wanted.conditions()))
        .order_by(audit_log.c.id.desc())
        .limit(limit)
    )


Filter = MessageFilter | InboxFilter | AuditFilter


async def batches(
    db: Database,
    wanted: Filter,
    query: Callable[[Any, int], Select[Any]],
    size: int = EXPORT_BATCH,
) -> AsyncIterator[list[Any]]:
    """Every row ``wanted`` selects, newest first, in lists of ``size``: one short read
    transaction per list, so a long export holds no transaction open."""
    current: Filter = wanted
    while True:
        async with db.read() as conn:
            rows = list((await conn.execute(query(current, size))).all())
        if rows:
            yield rows
        if len(rows) < size:
            return
        current = replace(current, before=rows[-1].id)
