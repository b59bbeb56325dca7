"""Messages as JSON objects: the one shape shared by ``gatewayd show`` and the HTTP API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import message_events, message_parts, messages


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def message_json(message: Row[Any], parts: Sequence[Row[Any]]) -> dict[str, Any]:
    """The SPEC §3.5 message object from a ``messages`` row and its ``message_parts`` rows
    (``kind`` tells it from a batch answer)."""
    return {
        "kind": "message",
        "id": message.id,
        "to": message.recipient,
        "text": message.text,
        "status": message.status,
        "encoding": message.encoding,
        "segments": message.segments,
        "priority": message.priority,
        "send_at": iso(message.send_at),
        "flash": message.flash,
        "status_report": message.status_report,
        "parts": [
            {
                "seq": part.seq,
                "status": part.status,
                "mr": part.mr,
                "modem": part.modem,
                "sent_at": iso(part.sent_at),
                "delivered_at": iso(part.delivered_at),
                "error": part.error,
            }
            for part in parts
        ],
        "modem": message.assigned_modem or message.modem,
        "created_at": iso(message.created_at),
        "sent_at": iso(message.sent_at),
        "delivered_at": iso(message.delivered_at),
        "error": message.error,
        "attempts": message.attempts,
        "created_by": message.created_by,
        "batch_id": message.batch_id,
    }


async def load_message(
    conn: AsyncConnection, message_id: int, *, with_timeline: bool = False
) -> dict[str, Any] | None:
    """One message as JSON, or None when there is no such message."""
    message = (
        await conn.execute(select(messages).where(messages.c.id == message_id))
    ).one_or_none()
    if message is None:
        return None
    parts = (
        await conn.execute(
            select(message_parts)
            .where(message_parts.c.message_id == message_id)
            .order_by(message_parts.c.seq)
        )
    ).all()
    result = message_json(message, parts)
    if with_timeline:
        events = await conn.execute(
            select(message_events)
            .where(message_events.c.message_id == message_id)
            .order_by(message_events.c.id)
        )
        result["timeline"] = [
            {
                "at": iso(event.at),
                "status": event.status,
                "part": event.part_seq,
                "modem": event.modem,
                "detail": event.detail,
            }
            for event in events
        ]
    return result


async def load_messages(conn: AsyncConnection, message_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Several messages as JSON, in the order of ``message_ids``."""
    if not message_ids:
        return []
    rows = await conn.execute(select(messages).where(messages.c.id.in_(message_ids)))
    return await messages_json(conn, list(rows), order=message_ids)


async def messages_json(
    conn: AsyncConnection, rows: Sequence[Row[Any]], *, order: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """Message rows already read, as JSON with their parts (one more query), in the order of
    ``order`` (default: the rows' order)."""
    by_id = {row.id: row for row in rows}
    message_ids = list(order) if order is not None else [row.id for row in rows]
    if not message_ids:
        return []
    rows_by_id = by_id
    parts: dict[int, list[Row[Any]]] = {i: [] for i in message_ids}
    for part in await conn.execute(
        select(message_parts)
        .where(message_parts.c.message_id.in_(message_ids))
        .order_by(message_parts.c.message_id, message_parts.c.seq)
    ):
        parts[part.message_id].append(part)
    return [message_json(rows_by_id[i], parts[i]) for i in message_ids if i in rows_by_id]
