"""Putting messages into the send queue: validation, segmentation, PDUs, idempotency, cancel.

Everything a sender can get wrong is checked here, before anything is written, and reported as
an :class:`InvalidMessage` naming the field, so the CLI, the API and the web form give the same
precise answer. PDUs are encoded at enqueue time (the modem assigns TP-MR itself), which keeps
the per-message work on the send path down to the AT exchange and two small updates.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.numbers import InvalidNumber, normalise
from gatewayd.sms import MAX_PARTS, TextTooLong, encode_submit, segment_info
from gatewayd.store import MessageStatus, message_events, message_parts, messages, utc_now

MAX_TEXT_LENGTH = 255 * 153
MAX_VALIDITY_MINUTES = 63 * 7 * 24 * 60
MAX_SCHEDULE_AHEAD = timedelta(days=366)


class InvalidMessage(ValueError):
    """A message that cannot be queued; ``code`` and ``field`` say which input and why."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


class CannotCancel(Exception):
    """The message has already left the queue (or does not exist)."""


@dataclass(frozen=True)
class NewMessage:
    """A message as a sender asks for it, before validation."""

    to: str
    text: str
    priority: int = 0
    send_at: datetime | None = None
    flash: bool = False
    status_report: bool = True
    modem: str | None = None
    callback_url: str | None = None
    validity_minutes: int | None = None


@dataclass(frozen=True)
class PreparedMessage:
    request: NewMessage
    recipient: str
    encoding: str
    pdus: tuple[tuple[str, int], ...]
    """(pdu hex, tpdu length) per part."""
    concat_ref: int | None


def prepare(
    new: NewMessage,
    *,
    default_region: str | None = None,
    known_modems: Collection[str] | None = None,
    now: datetime | None = None,
) -> PreparedMessage:
    """Validate ``new`` and encode its parts; raise :class:`InvalidMessage` on any mistake."""
    try:
        recipient = normalise(new.to, default_region)
    except InvalidNumber as exc:
        raise InvalidMessage("invalid_number", str(exc), "to") from None
    _check_text(new.text)
    if new.modem is not None and known_modems is not None and new.modem not in known_modems:
        raise InvalidMessage("unknown_modem", f"there is no modem named {new.modem!r}", "modem")
    _check_send_at(new.send_at, now or utc_now())
    if new.validity_minutes is not None and not 5 <= new.validity_minutes <= MAX_VALIDITY_MINUTES:
        raise InvalidMessage(
            "invalid_validity",
            f"validity must be from 5 to {MAX_VALIDITY_MINUTES} minutes",
            "validity_minutes",
        )
    if not -100 <= new.priority <= 100:
        raise InvalidMessage("invalid_priority", "priority must be from -100 to 100", "priority")
    concat_ref = random.randrange(256)
    try:
        parts = encode_submit(
            recipient,
            new.text,
            status_report=new.status_report,
            flash=new.flash,
            concat_ref=concat_ref,
            validity_minutes=new.validity_minutes,
        )
    except TextTooLong:
        info = segment_info(new.text)
        raise InvalidMessage(
            "text_too_long",
            f"the text needs {info.segments} parts ({info.encoding}); at most {MAX_PARTS} fit",
            "text",
        ) from None
    encoding = segment_info(new.text).encoding
    return PreparedMessage(
        request=new,
        recipient=recipient,
        encoding=encoding,
        pdus=tuple((p.pdu, p.tpdu_length) for p in parts),
        concat_ref=concat_ref if len(parts) > 1 else None,
    )


def _check_text(text: str) -> None:
    if not text or not text.strip():
        raise InvalidMessage("empty_text", "the text is empty", "text")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidMessage(
            "text_too_long",
            f"the text has {len(text)} characters; at most {MAX_PARTS} parts can be sent",
            "text",
        )
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise InvalidMessage("invalid_text", "the text contains unpaired surrogates", "text")
    if "\x00" in text:  # no text column (PostgreSQL) can store it; no SMS needs it
        raise InvalidMessage("invalid_text", "the text contains a NUL character", "text")


def _check_send_at(send_at: datetime | None, now: datetime) -> None:
    if send_at is None:
        return
    if send_at.tzinfo is None:
        raise InvalidMessage(
            "invalid_send_at", "send_at needs a time zone, e.g. 2026-12-01T09:00:00-03:00",
            "send_at",
        )
    if send_at > now + MAX_SCHEDULE_AHEAD:
        raise InvalidMessage(
            "invalid_send_at", "send_at is more than a year ahead", "send_at"
        )


async def enqueue(
    conn: AsyncConnection,
    prepared: Sequence[PreparedMessage],
    *,
    created_by: str,
    idempotency_key: str | None = None,
) -> tuple[list[int], bool]:
    """Insert the messages with their parts; return (ids, created).

    With an ``idempotency_key`` already used by ``created_by``, nothing is inserted and the ids
    of the earlier request come back with ``created`` False.
    """
    if idempotency_key is not None:
        earlier = await _ids_for_key(conn, created_by, idempotency_key)
        if earlier:
            return earlier, False
    now = utc_now()
    rows = [
        {
            "recipient": p.recipient,
            "text": p.request.text,
            "encoding": p.encoding,
            "segments": len(p.pdus),
            "status": MessageStatus.QUEUED.value,
            "priority": p.request.priority,
            "send_at": p.request.send_at,
            "modem": p.request.modem,
            "status_report": p.request.status_report,
            "flash": p.request.flash,
            "validity_minutes": p.request.validity_minutes,
            "concat_ref": p.concat_ref,
            "idempotency_key": idempotency_key if index == 0 else None,
            "callback_url": p.request.callback_url,
            "created_at": now,
            "updated_at": now,
            "created_by": created_by,
        }
        for index, p in enumerate(prepared)
    ]
    if not rows:
        return [], True
    result = await conn.execute(insert(messages).returning(messages.c.id), rows)
    ids = [row[0] for row in result.all()]
    if len(ids) > 1:
        await conn.execute(
            update(messages).where(messages.c.id.in_(ids)).values(batch_id=ids[0])
        )
    part_rows = [
        {
            "message_id": message_id,
            "seq": seq,
            "total": len(p.pdus),
            "pdu": pdu,
            "tpdu_length": length,
        }
        for message_id, p in zip(ids, prepared, strict=True)
        for seq, (pdu, length) in enumerate(p.pdus, start=1)
    ]
    await conn.execute(insert(message_parts), part_rows)
    await conn.execute(
        insert(message_events),
        [{"message_id": i, "status": MessageStatus.QUEUED.value, "at": now} for i in ids],
    )
    return ids, True


async def _ids_for_key(conn: AsyncConnection, created_by: str, key: str) -> list[int]:
    first = (
        await conn.execute(
            select(messages.c.id, messages.c.batch_id).where(
                messages.c.created_by == created_by, messages.c.idempotency_key == key
            )
        )
    ).first()
    if first is None:
        return []
    if first.batch_id is None:
        return [first.id]
    rows = await conn.execute(
        select(messages.c.id).where(messages.c.batch_id == first.batch_id).order_by(messages.c.id)
    )
    return [row[0] for row in rows]


async def cancel(conn: AsyncConnection, message_id: int, *, by: str) -> None:
    """Cancel a message still waiting in the queue; raise :class:`CannotCancel` otherwise."""
    now = utc_now()
    result = await conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.status == MessageStatus.QUEUED.value)
        .values(status=MessageStatus.CANCELLED.value, updated_at=now, error=None)
        .returning(messages.c.id)
    )
    if result.first() is None:
        status = (
            await conn.execute(select(messages.c.status).where(messages.c.id == message_id))
        ).scalar_one_or_none()
        if status is None:
            raise CannotCancel(f"message {message_id} does not exist")
        raise CannotCancel(
            f"message {message_id} is {status}: only queued messages can be cancelled"
        )
    await conn.execute(
        update(message_parts)
        .where(message_parts.c.message_id == message_id, message_parts.c.status == "queued")
        .values(status="failed", error="cancelled")
    )
    await conn.execute(
        insert(message_events).values(
            message_id=message_id, status=MessageStatus.CANCELLED.value, detail=f"by {by}", at=now
        )
    )
