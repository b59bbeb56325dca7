"""The ``deliver_sm`` outbox (``smpp_deliveries``): receipts and incoming SMS derived from the
database, claimed for the binds of an account, and settled by the client's answer.

Derivation follows :mod:`webui.webhooks.derive`: ``message_events`` and ``incoming_messages``
are read past cursors kept in ``web_cursors`` (``smpp.message_events``,
``smpp.incoming_messages``), each new row becomes outbox rows, and the cursor moves, in one
transaction; on PostgreSQL the cursor row is locked ``SKIP LOCKED`` so of several SMPP
processes one derives at a time, and rows younger than ``commit_lag`` wait for the next round.

A row is due from ``next_attempt_at``. A claim moves that ahead by a lease (``SKIP LOCKED`` on
PostgreSQL), so two processes never send one row at once and a process that dies mid-send
leaves it due again when the lease runs out. ``ESME_ROK`` marks it ``done``; anything else
(an error status, no answer in time, the connection lost) makes it due again later. Done rows
are deleted after :data:`KEEP_DONE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.bulk import BulkInsert
from gatewayd.smpp.text import DefaultAlphabet
from gatewayd.store import (
    DeliveryKind,
    DeliveryStatus,
    accounts,
    incoming_messages,
    message_events,
    message_parts,
    messages,
    smpp_deliveries,
    smpp_submits,
)
from webui.services.accounts import account_from_row
from webui.smpp.deliveries import incoming_pdus, receipt_pdu
from webui.smpp.statuses import FINAL_STATUSES, message_state, wants_receipt
from webui.webhooks.derive import lock_cursor, move_cursor

RECEIPTS_CURSOR = "smpp.message_events"
INCOMING_CURSOR = "smpp.incoming_messages"
BATCH = 500
KEEP_DONE = timedelta(days=7)


@dataclass(frozen=True)
class Derived:
    """What a derivation round did: outbox rows written, and whether source rows were left
    for later because they were younger than the commit lag."""

    rows: int = 0
    held_back: bool = False
    more: bool = False
    """A whole :data:`BATCH` of source rows was read: there may be more right away."""

    def __add__(self, other: Derived) -> Derived:
        return Derived(
            self.rows + other.rows,
            self.held_back or other.held_back,
            self.more or other.more,
        )


def _ready(
    rows: Sequence[Any], stamp: str, horizon: datetime, lag: float
) -> tuple[list[Any], bool]:
    ready: list[Any] = []
    for row in rows:
        if lag and getattr(row, stamp) > horizon:
            return ready, True
        ready.append(row)
    return ready, False


async def derive_receipts(conn: AsyncConnection, now: datetime, commit_lag: float) -> Derived:
    """Receipts for the final statuses of messages whose client asked for one."""
    position = await lock_cursor(conn, RECEIPTS_CURSOR)
    if position is None:
        return Derived()
    events = (
        await conn.execute(
            select(
                message_events.c.id,
                message_events.c.message_id,
                message_events.c.part_seq,
                message_events.c.status,
                message_events.c.at,
            )
            .where(message_events.c.id > position)
            .order_by(message_events.c.id)
            .limit(BATCH)
        )
    ).all()
    ready, held_back = _ready(events, "at", now - timedelta(seconds=commit_lag), commit_lag)
    if not ready:
        return Derived(0, held_back)
    more = not held_back and len(events) == BATCH
    final = [e for e in ready if e.part_seq is None and e.status in FINAL_STATUSES]
    ids = sorted({e.message_id for e in final})
    submits = await _receipt_requests(conn, ids) if ids else {}
    errors = await _report_statuses(conn, list(submits)) if submits else {}
    rows = []
    for event in final:
        found = submits.get(event.message_id)
        if found is None:
            continue
        state = message_state(event.status, ever_sent=found.sent_at is not None)
        if not wants_receipt(found.registered_delivery, state):
            continue
        body = receipt_pdu(
            message_id=event.message_id,
            recipient=(found.dest_addr_ton, found.dest_addr_npi, found.destination_addr),
            client=(found.source_addr_ton, found.source_addr_npi, found.source_addr),
            state=state,
            submitted_at=found.created_at,
            done_at=event.at,
            error=errors.get(event.message_id, 0),
            text=found.text,
        )
        rows.append(
            _row(found.account_id, DeliveryKind.RECEIPT, body, now, message=event.message_id)
        )
    if rows:
        await _insert_deliveries.run(conn, rows)
    await move_cursor(conn, RECEIPTS_CURSOR, ready[-1].id, now)
    return Derived(len(rows), held_back, more)


async def _receipt_requests(conn: AsyncConnection, ids: list[int]) -> dict[int, Any]:
    """The SMPP submissions among ``ids`` that asked for a receipt, with their messages."""
    rows = await conn.execute(
        select(
            smpp_submits,
            messages.c.text,
            messages.c.created_at,
            messages.c.sent_at,
        )
        .join(messages, messages.c.id == smpp_submits.c.message_id)
        .join(accounts, accounts.c.id == smpp_submits.c.account_id)
        .where(
            smpp_submits.c.message_id.in_(ids),
            smpp_submits.c.registered_delivery.op("&")(3).in_((1, 2)),
        )
    )
    return {row.message_id: row for row in rows}


async def _report_statuses(conn: AsyncConnection, ids: list[int]) -> dict[int, int]:
    rows = await conn.execute(
        select(message_parts.c.message_id, func.max(message_parts.c.report_status))
        .where(message_parts.c.message_id.in_(ids))
        .group_by(message_parts.c.message_id)
    )
    return {row[0]: int(row[1] or 0) for row in rows}


async def derive_incoming(
    conn: AsyncConnection,
    now: datetime,
    commit_lag: float,
    default_alphabet: DefaultAlphabet = "gsm",
) -> Derived:
    """deliver_sm for incoming SMS, to every account whose ``incoming_modems`` name the
    modem that received it."""
    position = await lock_cursor(conn, INCOMING_CURSOR)
    if position is None:
        return Derived()
    received = (
        await conn.execute(
            select(
                incoming_messages.c.id,
                incoming_messages.c.sender,
                incoming_messages.c.text,
                incoming_messages.c.modem,
                incoming_messages.c.concat_ref,
                incoming_messages.c.stored_at,
            )
            .where(incoming_messages.c.id > position)
            .order_by(incoming_messages.c.id)
            .limit(BATCH)
        )
    ).all()
    ready, held_back = _ready(
        received, "stored_at", now - timedelta(seconds=commit_lag), commit_lag
    )
    if not ready:
        return Derived(0, held_back)
    more = not held_back and len(received) == BATCH
    routed = await _incoming_routes(conn)
    rows = []
    for message in ready:
        for account_id, as_parts in routed.get(message.modem, ()):
            for body in incoming_pdus(
                sender=message.sender,
                modem=message.modem,
                text=message.text,
                as_parts=as_parts,
                concat_ref=message.concat_ref,
                default_alphabet=default_alphabet,
            ):
                rows.append(_row(account_id, DeliveryKind.INCOMING, body, now, incoming=message.id))
    if rows:
        await _insert_deliveries.run(conn, rows)
    await move_cursor(conn, INCOMING_CURSOR, ready[-1].id, now)
    return Derived(len(rows), held_back, more)


async def _incoming_routes(conn: AsyncConnection) -> dict[str, list[tuple[int, bool]]]:
    """Modem name → (account id, wants parts) of the live SMPP accounts it routes to."""
    rows = await conn.execute(
        select(accounts).where(accounts.c.system_id.is_not(None), accounts.c.revoked_at.is_(None))
    )
    routes: dict[str, list[tuple[int, bool]]] = {}
    for row in rows:
        account = account_from_row(row)
        for modem in account.incoming_modems:
            routes.setdefault(modem, []).append((account.id, account.incoming_as_parts))
    return routes


_insert_deliveries = BulkInsert(
    smpp_deliveries,
    (
        "account_id",
        "kind",
        "message_id",
        "incoming_id",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ),
)


def _row(
    account_id: int,
    kind: DeliveryKind,
    body: bytes,
    now: datetime,
    *,
    message: int | None = None,
    incoming: int | None = None,
) -> tuple[Any, ...]:
    pending = DeliveryStatus.PENDING.value
    return (account_id, kind.value, message, incoming, body, pending, 0, now, now)


@dataclass(frozen=True)
class Claimed:
    id: int
    account_id: int
    body: bytes


async def claim(
    conn: AsyncConnection, account_id: int, now: datetime, limit: int, lease: timedelta
) -> list[Claimed]:
    """Up to ``limit`` due rows of ``account_id``, oldest first, leased until ``now + lease``."""
    if limit <= 0:
        return []
    due = (
        select(smpp_deliveries.c.id)
        .where(
            smpp_deliveries.c.status == DeliveryStatus.PENDING.value,
            smpp_deliveries.c.account_id == account_id,
            smpp_deliveries.c.next_attempt_at <= now,
        )
        .order_by(smpp_deliveries.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    result = await conn.execute(
        update(smpp_deliveries)
        .where(smpp_deliveries.c.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=now + lease, attempts=smpp_deliveries.c.attempts + 1)
        .returning(smpp_deliveries.c.id, smpp_deliveries.c.account_id, smpp_deliveries.c.body)
    )
    return sorted(
        (Claimed(row.id, row.account_id, bytes(row.body)) for row in result), key=lambda c: c.id
    )


async def next_due(conn: AsyncConnection, account_ids: Sequence[int]) -> datetime | None:
    """When the next pending row of these accounts falls due (None: there is none)."""
    if not account_ids:
        return None
    found = (
        await conn.execute(
            select(func.min(smpp_deliveries.c.next_attempt_at)).where(
                smpp_deliveries.c.status == DeliveryStatus.PENDING.value,
                smpp_deliveries.c.account_id.in_(list(account_ids)),
            )
        )
    ).scalar_one_or_none()
    return found if isinstance(found, datetime) else None


ACK_CHUNK = 500
"""Ids per ``UPDATE`` of acknowledged rows (under every driver's bound-parameter limit)."""


async def acknowledged(conn: AsyncConnection, ids: Sequence[int], now: datetime) -> None:
    """The client answered these with ESME_ROK: one ``UPDATE`` per :data:`ACK_CHUNK` ids."""
    for start in range(0, len(ids), ACK_CHUNK):
        await conn.execute(
            update(smpp_deliveries)
            .where(
                smpp_deliveries.c.id.in_(list(ids[start : start + ACK_CHUNK])),
                smpp_deliveries.c.status == DeliveryStatus.PENDING.value,
            )
            .values(status=DeliveryStatus.DONE.value, delivered_at=now, last_error=None)
        )


async def not_acknowledged(
    conn: AsyncConnection, delivery_id: int, retry_at: datetime, reason: str
) -> None:
    """Not answered with ESME_ROK: due again at ``retry_at``."""
    await conn.execute(
        update(smpp_deliveries)
        .where(
            smpp_deliveries.c.id == delivery_id,
            smpp_deliveries.c.status == DeliveryStatus.PENDING.value,
        )
        .values(next_attempt_at=retry_at, last_error=reason[:200])
    )


async def purge_done(conn: AsyncConnection, now: datetime) -> int:
    """Delete rows acknowledged more than :data:`KEEP_DONE` ago."""
    result = await conn.execute(
        delete(smpp_deliveries).where(
            smpp_deliveries.c.status == DeliveryStatus.DONE.value,
            smpp_deliveries.c.delivered_at < now - KEEP_DONE,
        )
    )
    return int(result.rowcount or 0)
