"""Turning database rows into webhook deliveries, durably.

``message_events`` (message-level status changes) and ``incoming_messages`` are read past a
cursor kept in ``web_cursors``; each new row becomes ``webhook_deliveries`` rows for its
destinations, and the cursor moves, in one transaction. Nothing is lost while no web process
runs: the next one carries on from the cursor. On PostgreSQL the cursor row is locked with
``SKIP LOCKED``, so of several web processes one derives at a time; rows younger than
``commit_lag`` seconds are left for the next round, because ids are handed out before the
transactions that use them commit. A ``mailto:`` callback URL (the email-to-SMS server's
reports) is not a webhook: :mod:`webui.mail.reports` reads those. Deliveries are named
(``event``, ``X-Event``) by the types of the live events of :mod:`gatewayd.events` they tell
of; their payloads are their own, public shape (documented in docs/api.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.events import MessageReceived, MessageStatusChanged
from gatewayd.queue.view import iso
from gatewayd.store import (
    accounts,
    api_keys,
    incoming_messages,
    kannel_dlr,
    message_events,
    messages,
    web_cursors,
    webhook_deliveries,
)
from webui.webhooks.kannel import dlr_type, substitute

EVENTS_CURSOR = "webhooks.message_events"
INBOX_CURSOR = "webhooks.incoming_messages"
NOTIFIED_STATUSES = frozenset({"sent", "delivered", "failed", "expired", "cancelled", "unknown"})
BATCH = 500
MAIL_SCHEME = "mailto:"
"""A ``callback_url`` of this scheme asks for mail, not a webhook (:mod:`webui.mail.reports`)."""


async def lock_cursor(conn: AsyncConnection, name: str) -> int | None:
    """The cursor's position, locked for this transaction; None when another process holds it."""
    query = select(web_cursors.c.position).where(web_cursors.c.name == name)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    position = (await conn.execute(query)).scalar_one_or_none()
    if position is not None:
        return int(position)
    exists = (
        await conn.execute(select(web_cursors.c.name).where(web_cursors.c.name == name))
    ).first()
    if exists is not None:
        return None  # locked by another process
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        await conn.execute(
            pg_insert(web_cursors).values(name=name, position=0).on_conflict_do_nothing()
        )
        return await lock_cursor(conn, name)
    await conn.execute(insert(web_cursors).values(name=name, position=0))
    return 0


async def move_cursor(conn: AsyncConnection, name: str, position: int, now: datetime) -> None:
    await conn.execute(
        update(web_cursors)
        .where(web_cursors.c.name == name)
        .values(position=position, updated_at=now)
    )


@dataclass(frozen=True)
class KeyHook:
    """Where a live key's events go: its own webhook URL, or else its account's
    (``account_id`` set then)."""

    url: str
    account_id: int | None = None


async def _key_webhooks(conn: AsyncConnection) -> dict[int, KeyHook]:
    """Each live key of a live account with a webhook: the key's own, else the account's."""
    rows = await conn.execute(
        select(
            api_keys.c.id,
            api_keys.c.webhook_url,
            accounts.c.id.label("account_id"),
            accounts.c.webhook_url.label("account_url"),
        )
        .select_from(api_keys.join(accounts, api_keys.c.account_id == accounts.c.id))
        .where(
            api_keys.c.revoked_at.is_(None),
            accounts.c.revoked_at.is_(None),
            or_(api_keys.c.webhook_url.is_not(None), accounts.c.webhook_url.is_not(None)),
        )
        .order_by(api_keys.c.id)
    )
    return {
        row.id: KeyHook(row.webhook_url)
        if row.webhook_url
        else KeyHook(row.account_url, row.account_id)
        for row in rows
    }


def _once_per_account(hooks: dict[int, KeyHook]) -> dict[int, str]:
    """Destinations of an event for everyone: each key's own webhook, and each account's
    webhook once (under its first key without one of its own)."""
    seen: set[int] = set()
    out: dict[int, str] = {}
    for key_id, hook in hooks.items():
        if hook.account_id is not None:
            if hook.account_id in seen:
                continue
            seen.add(hook.account_id)
        out[key_id] = hook.url
    return out


def creator_key(created_by: str) -> int | None:
    kind, _, ident = created_by.partition(":")
    return int(ident) if kind == "api_key" and ident.isdigit() else None


async def derive_status_events(conn: AsyncConnection, now: datetime, commit_lag: float) -> int:
    position = await lock_cursor(conn, EVENTS_CURSOR)
    if position is None:
        return 0
    horizon = now - timedelta(seconds=commit_lag)
    events = (
        await conn.execute(
            select(message_events)
            .where(message_events.c.id > position)
            .order_by(message_events.c.id)
            .limit(BATCH)
        )
    ).all()
    ready = []
    for event in events:
        if commit_lag and event.at > horizon:
            break
        ready.append(event)
    if not ready:
        return 0
    wanted = [e for e in ready if e.part_seq is None and e.status in NOTIFIED_STATUSES]
    message_ids = sorted({e.message_id for e in wanted})
    found = (
        {
            row.id: row
            for row in await conn.execute(
                select(
                    messages.c.id,
                    messages.c.recipient,
                    messages.c.callback_url,
                    messages.c.created_by,
                    messages.c.assigned_modem,
                    messages.c.error,
                ).where(messages.c.id.in_(message_ids))
            )
        }
        if message_ids
        else {}
    )
    dlrs = (
        {
            row.message_id: row
            for row in await conn.execute(
                select(kannel_dlr).where(kannel_dlr.c.message_id.in_(message_ids))
            )
        }
        if message_ids
        else {}
    )
    hooks = await _key_webhooks(conn)
    rows: list[dict[str, Any]] = []
    for event in wanted:
        message = found.get(event.message_id)
        if message is None:
            continue
        payload = {
            "event": MessageStatusChanged.TYPE,
            "event_id": event.id,
            "id": message.id,
            "to": message.recipient,
            "status": event.status,
            "error": event.detail if event.status in ("failed", "expired", "unknown") else None,
            "modem": event.modem or message.assigned_modem,
            "at": iso(event.at),
        }
        key_id = creator_key(message.created_by)
        base = {
            "event": MessageStatusChanged.TYPE,
            "payload": payload,
            "message_id": message.id,
            "api_key_id": key_id,
            "created_at": now,
            "next_attempt_at": now,
        }
        if message.callback_url and not message.callback_url.startswith(MAIL_SCHEME):
            rows.append({**base, "url": message.callback_url})
        if key_id is not None and key_id in hooks:
            rows.append({**base, "url": hooks[key_id].url})
        dlr = dlrs.get(message.id)
        kind = dlr_type(event.status, dlr.mask) if dlr is not None else None
        if dlr is not None and kind is not None:
            url = substitute(
                dlr.url,
                kind=kind,
                message_id=message.id,
                recipient=message.recipient,
                sender="",
                modem=payload["modem"] or "",
                at=event.at,
                detail=event.detail,
            )
            rows.append(
                {
                    **base,
                    "event": "kannel.dlr",
                    "url": url,
                    "payload": {"method": "GET", "type": kind, "id": message.id},
                }
            )
    if rows:
        await conn.execute(insert(webhook_deliveries), rows)
    await move_cursor(conn, EVENTS_CURSOR, ready[-1].id, now)
    return len(rows)


async def derive_received(conn: AsyncConnection, now: datetime, commit_lag: float) -> int:
    position = await lock_cursor(conn, INBOX_CURSOR)
    if position is None:
        return 0
    horizon = now - timedelta(seconds=commit_lag)
    received = (
        await conn.execute(
            select(incoming_messages)
            .where(incoming_messages.c.id > position)
            .order_by(incoming_messages.c.id)
            .limit(BATCH)
        )
    ).all()
    ready = []
    for row in received:
        if commit_lag and row.stored_at > horizon:
            break
        ready.append(row)
    if not ready:
        return 0
    hooks = _once_per_account(await _key_webhooks(conn))
    rows = [
        {
            "event": MessageReceived.TYPE,
            "url": url,
            "api_key_id": key_id,
            "created_at": now,
            "next_attempt_at": now,
            "payload": {
                "event": MessageReceived.TYPE,
                "id": row.id,
                "from": row.sender,
                "text": row.text,
                "modem": row.modem,
                "received_at": iso(row.received_at),
            },
        }
        for row in ready
        for key_id, url in hooks.items()
    ]
    if rows:
        await conn.execute(insert(webhook_deliveries), rows)
    await move_cursor(conn, INBOX_CURSOR, ready[-1].id, now)
    return len(rows)
