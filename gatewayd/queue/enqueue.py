"""Putting messages into the send queue: validation, segmentation, PDUs, idempotency, cancel.

Everything a sender can get wrong is checked here, before anything is written, and reported as
an :class:`InvalidMessage` naming the field, so the CLI, the API and the web form give the same
precise answer. PDUs are encoded at enqueue time (the modem assigns TP-MR itself), which keeps
the per-message work on the send path down to the AT exchange and two small updates.

::

    prepared = prepare(NewMessage(to, text))                       # one message
    messages, problems = prepare_many(template, numbers)           # one text, many numbers
    ids, created = await enqueue(conn, messages, created_by=..., idempotency_key=...)
    id_lists = await enqueue_requests(conn, [QueueRequest(...), ...], now=...)  # many requests

A batch's text is checked and encoded once (each number's address swapped into the PDUs), and
rows are written at driver speed by :mod:`gatewayd.queue.bulk`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.numbers import InvalidNumber, normalise
from gatewayd.queue.bulk import BulkInsert, allocate_ids, insert_together
from gatewayd.queue.suppression import refusals
from gatewayd.sms import (
    MAX_PARTS,
    Concat,
    TextTooLong,
    choose_encoding,
    encode_submit,
    segment_info,
)
from gatewayd.sms.address import TYPE_INTERNATIONAL, encode_address
from gatewayd.store import MessageStatus, message_events, message_parts, messages, utc_now

MAX_TEXT_LENGTH = 255 * 153
MAX_VALIDITY_MINUTES = 63 * 7 * 24 * 60
MAX_SCHEDULE_AHEAD = timedelta(days=366)
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidMessage(ValueError):
    """A message that cannot be queued; ``code`` and ``field`` say which input and why."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field

    def __reduce__(self) -> tuple[type[InvalidMessage], tuple[str, str, str | None]]:
        return (InvalidMessage, (self.code, str(self), self.field))  # pickled to/from workers


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
    part_of: Concat | None = None
    """Set when ``text`` is one part of a message the sender split itself (an SMPP client's
    UDH or ``sar_*`` fields): the message goes out as that one part, with that concatenation
    header, so the recipient's phone joins it with its siblings (each queued on its own)."""


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
    prepared, problems = prepare_many(
        new, [new.to], default_region=default_region, known_modems=known_modems, now=now
    )
    if problems:
        raise problems[0].error
    return prepared[0]


@dataclass(frozen=True)
class RecipientProblem:
    """A recipient :func:`prepare_many` refused: its position, what was given, and why."""

    index: int
    to: str
    error: InvalidMessage


def prepare_many(
    template: NewMessage,
    recipients: Sequence[str],
    *,
    default_region: str | None = None,
    known_modems: Collection[str] | None = None,
    now: datetime | None = None,
) -> tuple[list[PreparedMessage], list[RecipientProblem]]:
    """:func:`prepare` for ``template`` sent to each of ``recipients`` (``template.to`` is
    ignored): the prepared messages of the valid ones and the refused numbers.

    What does not depend on the recipient is checked, and the text encoded, once: a mistake
    there raises :class:`InvalidMessage` (as soon as a recipient is valid, as :func:`prepare`
    would for each of them). Each message still gets its own concatenation reference.
    """
    prepared: list[PreparedMessage] = []
    problems: list[RecipientProblem] = []
    encoder: _TextEncoder | None = None
    shared = {name: value for name, value in template.__dict__.items() if name != "to"}
    for index, to in enumerate(recipients):
        try:
            recipient = normalise(to, default_region)
        except InvalidNumber as exc:
            problems.append(
                RecipientProblem(index, to, InvalidMessage("invalid_number", str(exc), "to"))
            )
            continue
        if encoder is None:
            _check_request(template, known_modems, now or utc_now())
            encoder = _TextEncoder(template, recipient)
        if template.part_of is not None:
            concat_ref: int | None = template.part_of.ref
            pdus = encoder.parts(recipient, template.part_of.ref)
        else:
            concat_ref = 0 if encoder.single_part else random.randrange(256)
            pdus = encoder.parts(recipient, concat_ref)
            concat_ref = concat_ref if len(pdus) > 1 else None
        prepared.append(
            PreparedMessage(
                request=NewMessage(to=to, **shared),
                recipient=recipient,
                encoding=encoder.encoding,
                pdus=pdus,
                concat_ref=concat_ref,
            )
        )
    return prepared, problems


def _check_request(new: NewMessage, known_modems: Collection[str] | None, now: datetime) -> None:
    _check_text(new.text)
    _check_part_of(new.part_of)
    if new.modem is not None and known_modems is not None and new.modem not in known_modems:
        raise InvalidMessage("unknown_modem", f"there is no modem named {new.modem!r}", "modem")
    _check_send_at(new.send_at, now)
    if new.validity_minutes is not None and not 5 <= new.validity_minutes <= MAX_VALIDITY_MINUTES:
        raise InvalidMessage(
            "invalid_validity",
            f"validity must be from 5 to {MAX_VALIDITY_MINUTES} minutes",
            "validity_minutes",
        )
    if not -100 <= new.priority <= 100:
        raise InvalidMessage("invalid_priority", "priority must be from -100 to 100", "priority")


Parts = tuple[tuple[str, int], ...]


class _TextEncoder:
    """The SMS-SUBMIT parts of one request's text for any recipient.

    The text is encoded for the first recipient, once per concatenation reference it needs (a
    single part carries none), and every other recipient gets those PDUs with its own TP-DA
    swapped in: the destination address is the only field that differs between them.
    """

    def __init__(self, new: NewMessage, first_recipient: str) -> None:
        self._new = new
        self._recipient = first_recipient
        self._address = ""
        self._by_ref: dict[int, Parts] = {}
        self._single: Parts | None = None
        self.encoding = choose_encoding(new.text)

    @property
    def single_part(self) -> bool:
        """True once the text is known to fit one part (which carries no reference)."""
        return self._single is not None

    def parts(self, recipient: str, concat_ref: int) -> Parts:
        encoded = self._single or self._by_ref.get(concat_ref)
        if encoded is None:
            encoded = self._encode(self._recipient, concat_ref)
            if len(encoded) == 1:
                self._single = encoded
            else:
                self._by_ref[concat_ref] = encoded
        if recipient == self._recipient:
            return encoded
        if not self._address:
            self._address = _address_hex(self._recipient)
        readdressed = _readdressed(encoded, self._address, _address_hex(recipient))
        return readdressed if readdressed is not None else self._encode(recipient, concat_ref)

    def _encode(self, recipient: str, concat_ref: int) -> Parts:
        new = self._new
        try:
            parts = encode_submit(
                recipient,
                new.text,
                status_report=new.status_report,
                flash=new.flash,
                concat_ref=concat_ref,
                validity_minutes=new.validity_minutes,
                part_of=new.part_of,
            )
        except TextTooLong as exc:
            if new.part_of is not None:
                raise InvalidMessage(
                    "text_too_long",
                    f"part {new.part_of.seq} of {new.part_of.total} must fit one SMS: {exc}",
                    "text",
                ) from None
            info = segment_info(new.text)
            raise InvalidMessage(
                "text_too_long",
                f"the text needs {info.segments} parts ({info.encoding}); at most {MAX_PARTS} fit",
                "text",
            ) from None
        return tuple((p.pdu, p.tpdu_length) for p in parts)


def _address_hex(recipient: str) -> str:
    """The TP-DA field of ``recipient`` in hex, as :func:`encode_address` writes it; numbers in
    E.164 (what :func:`normalise` gives) without going through bytes."""
    digits = recipient[1:]
    if recipient[:1] != "+" or not digits.isascii() or not digits.isdigit() or len(digits) > 20:
        return encode_address(recipient, role="recipient").hex().upper()
    padded = digits + "F" if len(digits) % 2 else digits
    swapped = "".join(map(str.__add__, padded[1::2], padded[::2]))
    return f"{len(digits):02X}{TYPE_INTERNATIONAL:02X}{swapped}"


def _readdressed(parts: Parts, old: str, new: str) -> Parts | None:
    """``parts`` with TP-DA ``old`` replaced by ``new`` (both hex); None if it is not where an
    SMS-SUBMIT keeps it (after the SMSC field, the first octet and TP-MR)."""
    out = []
    for pdu, tpdu_length in parts:
        start = 2 + 2 * int(pdu[:2], 16) + 4
        if pdu[start : start + len(old)] != old:
            return None
        out.append(
            (pdu[:start] + new + pdu[start + len(old) :], tpdu_length + (len(new) - len(old)) // 2)
        )
    return tuple(out)


def _check_text(text: str) -> None:
    if not text or not text.strip():
        raise InvalidMessage("empty_text", "the text is empty", "text")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidMessage(
            "text_too_long",
            f"the text has {len(text)} characters; at most {MAX_PARTS} parts can be sent",
            "text",
        )
    if _SURROGATE.search(text):
        raise InvalidMessage("invalid_text", "the text contains unpaired surrogates", "text")
    if "\x00" in text:  # no text column (PostgreSQL) can store it; no SMS needs it
        raise InvalidMessage("invalid_text", "the text contains a NUL character", "text")


def _check_part_of(part_of: Concat | None) -> None:
    if part_of is None:
        return
    if not (0 <= part_of.ref <= 0xFFFF and 1 <= part_of.seq <= part_of.total <= MAX_PARTS):
        raise InvalidMessage(
            "invalid_part",
            f"a part needs a reference from 0 to 65535 and 1 <= seq <= total <= {MAX_PARTS}, "
            f"got ref {part_of.ref}, seq {part_of.seq}, total {part_of.total}",
            "part_of",
        )


def _check_send_at(send_at: datetime | None, now: datetime) -> None:
    if send_at is None:
        return
    if send_at.tzinfo is None:
        raise InvalidMessage(
            "invalid_send_at",
            "send_at needs a time zone, e.g. 2026-12-01T09:00:00-03:00",
            "send_at",
        )
    try:
        send_at.astimezone(UTC)  # what the database stores
    except OverflowError:
        raise InvalidMessage(
            "invalid_send_at", "send_at is outside the years 1 to 9999 in UTC", "send_at"
        ) from None
    if send_at > now + MAX_SCHEDULE_AHEAD:
        raise InvalidMessage("invalid_send_at", "send_at is more than a year ahead", "send_at")


async def enqueue(
    conn: AsyncConnection,
    prepared: Sequence[PreparedMessage],
    *,
    created_by: str,
    idempotency_key: str | None = None,
    now: datetime | None = None,
    account_id: int | None = None,
    exempt: Collection[str] = (),
) -> tuple[list[int], bool]:
    """Insert the messages with their parts; return (ids, created).

    With an ``idempotency_key`` already used by ``created_by``, nothing is inserted and the ids
    of the earlier request come back with ``created`` False. Several messages share a
    ``batch_id`` (the first one's id). ``now`` is their ``created_at`` (default: now);
    ``account_id`` the client account sending them (None: a user, the CLI).
    """
    if idempotency_key is not None:
        earlier = await ids_for_key(conn, created_by, idempotency_key)
        if earlier:
            return earlier, False
    if not prepared:
        return [], True
    [ids] = await enqueue_requests(
        conn,
        [QueueRequest(prepared, created_by, idempotency_key, account_id)],
        now=now or utc_now(),
        exempt=exempt,
    )
    return ids, True


@dataclass(frozen=True)
class QueueRequest:
    """The messages of one send request, for :func:`enqueue_requests`."""

    messages: Sequence[PreparedMessage]
    created_by: str
    idempotency_key: str | None = None
    account_id: int | None = None


MESSAGE_COLUMNS = (
    "id",
    "recipient",
    "text",
    "encoding",
    "segments",
    "status",
    "priority",
    "send_at",
    "modem",
    "status_report",
    "flash",
    "validity_minutes",
    "concat_ref",
    "idempotency_key",
    "callback_url",
    "created_at",
    "updated_at",
    "created_by",
    "batch_id",
    "account_id",
)
_insert_messages = BulkInsert(messages, MESSAGE_COLUMNS)
_insert_parts = BulkInsert(message_parts, ("message_id", "seq", "total", "pdu", "tpdu_length"))
_insert_events = BulkInsert(message_events, ("message_id", "status", "at"))


AlsoWritten = Callable[[list[list[int]]], Sequence[tuple[BulkInsert, Sequence[tuple[Any, ...]]]]]
"""Rows of other tables built from the ids of each request's messages, written with them."""


async def enqueue_requests(
    conn: AsyncConnection,
    requests: Sequence[QueueRequest],
    *,
    now: datetime,
    exempt: Collection[str] = (),
    suppressions_checked: bool = False,
    also: AlsoWritten | None = None,
) -> list[list[int]]:
    """Insert the messages of several requests at once (no idempotency lookup: see
    :func:`enqueue`); the ids of each request's messages, in order. A request of several
    messages gets ``batch_id`` = its first id, a single message none.

    Every path into the queue ends here, so the suppression lists are enforced here: a
    recipient on the opt-out list, or blocked, raises :class:`InvalidMessage` ``opted_out``
    and nothing is written (front doors that report per recipient filter before, with
    :func:`gatewayd.queue.suppression.refusals`). ``exempt`` numbers are let through: the
    confirmation of an opt-out is the one message an opted-out number gets.
    ``suppressions_checked``: the caller ran :func:`refusals` on these recipients in this same
    transaction and left out the refused ones (a group of sends refuses them one by one).
    ``also`` gives rows of other tables (an audit entry per request…) from the ids: they are
    written with the messages, in one statement on PostgreSQL
    (:func:`~gatewayd.queue.bulk.insert_together`).
    """
    refused = (
        {}
        if suppressions_checked
        else await refusals(
            conn, [m.recipient for r in requests for m in r.messages], exempt=exempt
        )
    )
    if refused:
        _number, reason = next(iter(refused.items()))
        raise InvalidMessage("opted_out", reason, "to")
    total = sum(len(r.messages) for r in requests)
    free = iter(await allocate_ids(conn, messages, total))
    queued = MessageStatus.QUEUED.value
    ids_per_request: list[list[int]] = []
    message_rows: list[tuple[object, ...]] = []
    part_rows: list[tuple[object, ...]] = []
    for request in requests:
        ids = [next(free) for _ in request.messages]
        ids_per_request.append(ids)
        batch_id = ids[0] if len(ids) > 1 else None
        key = request.idempotency_key
        account_id = request.account_id
        for message_id, p in zip(ids, request.messages, strict=True):
            new = p.request
            message_rows.append(
                (
                    message_id,
                    p.recipient,
                    new.text,
                    p.encoding,
                    len(p.pdus),
                    queued,
                    new.priority,
                    new.send_at,
                    new.modem,
                    new.status_report,
                    new.flash,
                    new.validity_minutes,
                    p.concat_ref,
                    key,
                    new.callback_url,
                    now,
                    now,
                    request.created_by,
                    batch_id,
                    account_id,
                )
            )
            key = None
            total_parts = len(p.pdus)
            part_rows.extend(
                (message_id, seq, total_parts, pdu, length)
                for seq, (pdu, length) in enumerate(p.pdus, start=1)
            )
    event_rows = [(i, queued, now) for ids in ids_per_request for i in ids]
    writes: list[tuple[BulkInsert, Sequence[tuple[Any, ...]]]] = [
        (_insert_messages, message_rows),
        (_insert_parts, part_rows),
        (_insert_events, event_rows),
    ]
    if also is not None:
        writes.extend(also(ids_per_request))
    await insert_together(conn, writes)
    await _mark_given_parts(conn, requests, ids_per_request)
    return ids_per_request


_MARK_PART = (
    update(messages)
    .where(messages.c.id == bindparam("b_id"))
    .values(concat_total=bindparam("b_total"), concat_seq=bindparam("b_seq"))
)


async def _mark_given_parts(
    conn: AsyncConnection, requests: Sequence[QueueRequest], ids_per_request: list[list[int]]
) -> None:
    """Which part of its sender's message each message with ``part_of`` is. A separate
    statement, run only when there are such messages: other sends write as before."""
    rows = [
        {"b_id": message_id, "b_total": p.request.part_of.total, "b_seq": p.request.part_of.seq}
        for request, ids in zip(requests, ids_per_request, strict=True)
        for message_id, p in zip(ids, request.messages, strict=True)
        if p.request.part_of is not None
    ]
    if rows:
        await conn.execute(_MARK_PART, rows)


async def ids_for_key(conn: AsyncConnection, created_by: str, key: str) -> list[int]:
    """The ids of the messages ``created_by`` queued with Idempotency-Key ``key``; [] if none."""
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
