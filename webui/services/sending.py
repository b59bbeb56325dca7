"""Validating and queueing what a sender asked for: shared by the JSON API, the CSV upload and
the Kannel-compatible endpoint.

Every recipient is validated before anything is written; with several recipients the problems
are reported per index (the text is checked and encoded once per request). A batch is one
transaction; small requests without an idempotency key share one with whatever else arrives
meanwhile (:mod:`webui.services.group_commit`). The answer is built from what was written, not read
back. After the commit gatewayd is woken through the bus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

import orjson
from aiohttp import web
from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.bus import WAKE, queued_wake
from gatewayd.queue import InvalidMessage, NewMessage, PreparedMessage, enqueue
from gatewayd.queue.enqueue import RecipientProblem, prepare_many
from gatewayd.queue.view import load_messages, message_json
from gatewayd.sms import MAX_PARTS
from gatewayd.store import MessageStatus, PartStatus, modems, utc_now
from webui.api.models import MAX_RECIPIENTS
from webui.audit import record
from webui.auth.identity import Identity
from webui.errors import ApiError
from webui.keys import BUS, CLIENT_ADDRESS, DB, SETTINGS
from webui.services.group_commit import (
    GROUP_COMMIT,
    MAX_MESSAGES,
    AfterInsert,
    AuditEntry,
    GroupedSend,
)
from webui.services.validation_pool import VALIDATION_POOL

OFFLOAD_ABOVE = 200
"""Batches larger than this are validated in a worker thread (the largest also in a worker
process: :mod:`webui.services.validation_pool`) to keep the loop answering."""
MAX_IDEMPOTENCY_KEY = 255


@dataclass
class Prepared:
    messages: list[PreparedMessage] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)


def prepare_all(
    template: NewMessage,
    recipients: Sequence[str],
    *,
    default_region: str | None,
    known_modems: set[str] | None,
) -> Prepared:
    return as_prepared(
        prepare_many(template, recipients, default_region=default_region, known_modems=known_modems)
    )


def as_prepared(outcome: tuple[list[PreparedMessage], list[RecipientProblem]]) -> Prepared:
    messages, refused = outcome
    problems = [
        {"index": p.index, "to": p.to, "code": p.error.code, "message": str(p.error)}
        for p in refused
    ]
    return Prepared(messages, problems)


async def known_modem_names(request: web.Request) -> set[str]:
    names = {modem.name for modem in request.app[SETTINGS].modems}
    async with request.app[DB].read() as conn:
        names.update(row[0] for row in await conn.execute(select(modems.c.name)))
    return names


def idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key.isprintable():  # bytes that were not UTF-8 arrive as lone surrogates
        raise ApiError(
            422,
            "invalid_idempotency_key",
            "Idempotency-Key must be printable UTF-8 text",
            "Idempotency-Key",
        )
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise ApiError(
            422,
            "invalid_idempotency_key",
            f"Idempotency-Key must have 1 to {MAX_IDEMPOTENCY_KEY} characters",
            "Idempotency-Key",
        )
    return key


async def validate(
    request: web.Request, template: NewMessage, recipients: Sequence[str], *, skip_invalid: bool
) -> Prepared:
    if len(recipients) > MAX_RECIPIENTS:  # every front door: JSON, CSV, Kannel, the pages
        raise ApiError(
            422, "too_many_recipients", f"at most {MAX_RECIPIENTS} recipients per request", "to"
        )
    known = await known_modem_names(request) if template.modem is not None else None
    region = request.app[SETTINGS].gateway.default_region
    try:
        if len(recipients) > OFFLOAD_ABOVE:
            prepared = as_prepared(
                await request.app[VALIDATION_POOL].prepare(
                    template, recipients, default_region=region, known_modems=known
                )
            )
        else:
            prepared = prepare_all(template, recipients, default_region=region, known_modems=known)
    except InvalidMessage as exc:
        raise ApiError(422, exc.code, str(exc), exc.field) from None
    if prepared.problems and (not skip_invalid or not prepared.messages):
        if len(recipients) == 1:
            problem = prepared.problems[0]
            raise ApiError(422, problem["code"], problem["message"], "to")
        raise ApiError(
            422,
            "invalid_recipients",
            f"{len(prepared.problems)} of {len(recipients)} recipients are invalid; fix them or "
            'send "skip_invalid": true',
            "to",
            problems=prepared.problems[:1000],
        )
    return prepared


async def queue_prepared(
    request: web.Request,
    identity: Identity,
    prepared: Prepared,
    *,
    key: str | None,
    extra: AfterInsert | None = None,
) -> tuple[list[int], bool]:
    """Insert (or find the earlier request's) messages; wake gatewayd when new ones went in.
    Returns (ids, created)."""
    ids, created, _ = await queue_and_load(
        request, identity, prepared, key=key, extra=extra, load=False
    )
    return ids, created


async def queue_and_load(
    request: web.Request,
    identity: Identity,
    prepared: Prepared,
    *,
    key: str | None,
    extra: AfterInsert | None = None,
    load: bool = True,
) -> tuple[list[int], bool, list[dict[str, Any]]]:
    """:func:`queue_prepared`, also answering the messages as JSON (when ``load``): built from
    what was written when they are new, read back when an earlier request made them."""
    if key is None and len(prepared.messages) <= MAX_MESSAGES:
        ids, now = await request.app[GROUP_COMMIT].queue(
            request.app,
            GroupedSend(
                prepared.messages,
                identity.actor,
                partial(_audit_entry, identity, prepared, request[CLIENT_ADDRESS]),
                extra,
            ),
        )
        return ids, True, queued_json(ids, prepared.messages, identity.actor, now) if load else []
    loaded: list[dict[str, Any]] = []
    db = request.app[DB]
    for attempt in (1, 2):
        now = utc_now()
        try:
            async with db.begin() as conn:
                ids, created = await enqueue(
                    conn, prepared.messages, created_by=identity.actor, idempotency_key=key, now=now
                )
                if created:
                    entry = _audit_entry(identity, prepared, request[CLIENT_ADDRESS], ids)
                    await record(
                        conn,
                        entry.actor,
                        entry.action,
                        entry.target,
                        entry.detail,
                        entry.client_address,
                    )
                    if extra is not None:
                        await extra(conn, ids)
                if load:
                    loaded = (
                        queued_json(ids, prepared.messages, identity.actor, now)
                        if created
                        else await load_in_chunks(conn, ids)
                    )
            break
        except IntegrityError:
            if attempt == 2 or key is None:
                raise
            # Another request with the same Idempotency-Key won the race: answer with its ids.
    if created:
        await request.app[BUS].publish(
            WAKE, queued_wake(len(ids), (m.request.modem for m in prepared.messages))
        )
    return ids, created, loaded


def _audit_entry(
    identity: Identity, prepared: Prepared, client_address: str, ids: list[int]
) -> AuditEntry:
    detail: dict[str, Any] = {"count": len(ids), "first_id": ids[0] if ids else None}
    if len(ids) == 1:
        detail["to"] = prepared.messages[0].recipient
    if prepared.problems:
        detail["skipped"] = len(prepared.problems)
    target = f"message:{ids[0]}" if len(ids) == 1 else f"batch:{ids[0] if ids else '-'}"
    return AuditEntry(identity.actor, "message.send", target, detail, client_address)


class _QueuedRow:
    """A just-written ``messages`` row as :func:`message_json` reads it."""

    status = MessageStatus.QUEUED.value
    assigned_modem = None
    sent_at = None
    delivered_at = None
    error = None
    attempts = 0

    def __init__(
        self,
        message_id: int,
        p: PreparedMessage,
        created_by: str,
        created_at: datetime,
        batch_id: int | None,
    ) -> None:
        new = p.request
        self.id = message_id
        self.recipient = p.recipient
        self.text = new.text
        self.encoding = p.encoding
        self.segments = len(p.pdus)
        self.priority = new.priority
        self.send_at = new.send_at.astimezone(UTC) if new.send_at is not None else None
        self.flash = new.flash
        self.status_report = new.status_report
        self.modem = new.modem
        self.created_at = created_at
        self.created_by = created_by
        self.batch_id = batch_id


class _QueuedPart:
    status = PartStatus.QUEUED.value
    mr = None
    modem = None
    sent_at = None
    delivered_at = None
    error = None

    def __init__(self, seq: int) -> None:
        self.seq = seq


_PARTS = [
    [cast(Row[Any], _QueuedPart(seq)) for seq in range(1, total + 1)]
    for total in range(MAX_PARTS + 1)
]


def queued_json(
    ids: list[int], messages: Sequence[PreparedMessage], created_by: str, created_at: datetime
) -> list[dict[str, Any]]:
    """The messages just queued as ``load_messages`` would read them back, without the reads:
    every column not written is still at its default. Messages of one batch differ only in id
    and number, so each is the previous one's object with those two replaced."""
    batch_id = ids[0] if len(ids) > 1 else None
    out: list[dict[str, Any]] = []
    shape: tuple[Any, ...] = ()
    base: dict[str, Any] = {}
    for message_id, p in zip(ids, messages, strict=True):
        new = p.request
        same = (
            new.text,
            p.encoding,
            len(p.pdus),
            new.priority,
            new.send_at,
            new.flash,
            new.status_report,
            new.modem,
        )
        if same != shape:
            shape = same
            row = _QueuedRow(message_id, p, created_by, created_at, batch_id)
            base = message_json(cast(Row[Any], row), _PARTS[len(p.pdus)])
            out.append(base)
        else:
            out.append({**base, "id": message_id, "to": p.recipient})
    return out


def json_answer(data: Any, status: int = 200) -> web.Response:
    """``web.json_response`` with orjson: the same JSON (compact, UTF-8), several times faster
    on a 10,000-message answer."""
    try:
        body = orjson.dumps(data)
    except orjson.JSONEncodeError:  # e.g. a lone surrogate echoed from the input
        return web.json_response(data, status=status)
    return web.Response(body=body, status=status, content_type="application/json", charset="utf-8")


async def load_in_chunks(conn: AsyncConnection, ids: list[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), 5000):
        out.extend(await load_messages(conn, ids[start : start + 5000]))
    return out
