"""``/api/v1/messages``: send (one, a list, or a CSV upload), list, show, cancel."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from typing import Any

from aiohttp import web
from sqlalchemy import select

from gatewayd.numbers import InvalidNumber, normalise
from gatewayd.queue import CannotCancel, NewMessage, cancel
from gatewayd.queue.view import load_message, messages_json
from gatewayd.store import MessageStatus, Role, messages, utc_now
from webui.api.idempotency import check_replay
from webui.api.inputs import (
    MAX_ROW_ID,
    cursor_before,
    encode_cursor,
    path_id,
    query_int,
    query_time,
    read_form,
    read_model,
)
from webui.api.models import SendRequest
from webui.api.sending import caller_of, idempotency_key, json_answer
from webui.audit import record
from webui.auth.identity import Identity, requires
from webui.errors import ApiError, not_found
from webui.keys import CLIENT_ADDRESS, DB, IDENTITY, OPTIONS, SENDING
from webui.services.listing import MessageFilter, batches, message_query
from webui.services.sending import MAX_RECIPIENTS
from webui.streaming import stream_csv
from webui.webhooks.urls import WebhookUrlError, checked_webhook_url

STATUSES = {status.value for status in MessageStatus}
CSV_FIELDS = frozenset({"file", "text", "priority", "skip_invalid"})
PRIORITY_PATTERN = r"^-?(100|[1-9]?[0-9])$"


def identity_of(request: web.Request) -> Identity:
    identity = request[IDENTITY]
    assert identity is not None, "the auth middleware lets no anonymous request through"
    return identity


async def callback_of(request: web.Request, body: SendRequest) -> str | None:
    if body.callback_url is None:
        return None
    try:
        return await checked_webhook_url(body.callback_url, request.app[OPTIONS].webhook_policy)
    except WebhookUrlError as exc:
        raise ApiError(422, "invalid_callback_url", str(exc), "callback_url") from None


def template_of(body: SendRequest, callback: str | None) -> NewMessage:
    return NewMessage(
        to="",
        text=body.text,
        priority=body.priority,
        send_at=body.send_at,
        flash=body.flash,
        status_report=body.status_report,
        modem=body.modem,
        callback_url=callback,
        validity_minutes=body.validity_minutes,
    )


@requires(Role.OPERATOR)
async def send(request: web.Request) -> web.Response:
    body = await read_model(request, SendRequest)
    key = idempotency_key(request)
    single = isinstance(body.to, str)
    recipients = [body.to] if isinstance(body.to, str) else body.to
    template = template_of(body, await callback_of(request, body))
    sending = request.app[SENDING]
    prepared = await sending.validate(template, recipients, skip_invalid=body.skip_invalid)
    _, created, loaded = await sending.queue_and_load(caller_of(request), prepared, key=key)
    if not created:
        check_replay(prepared.messages, loaded)
    status = 202 if created else 200
    if single:
        return json_answer(loaded[0], status=status, headers=location(loaded, created))
    skipped = prepared.problems if created else []
    answer = {"kind": "batch", "messages": loaded, "skipped": skipped}
    return json_answer(answer, status=status, headers=location(loaded, created))


def location(loaded: list[dict[str, Any]], created: bool) -> dict[str, str] | None:
    """Where a new message (or the list of a new batch) can be read."""
    if not created or not loaded:
        return None
    if len(loaded) == 1 and loaded[0].get("batch_id") is None:
        return {"Location": f"/api/v1/messages/{loaded[0]['id']}"}
    return {"Location": f"/api/v1/messages?batch={loaded[0]['id']}"}


@requires(Role.OPERATOR)
async def send_csv(request: web.Request) -> web.Response:
    """``multipart/form-data``: ``file`` (CSV rows ``number[,text]``), optional ``text``
    (for rows without one), ``priority``, ``skip_invalid``."""
    if not request.content_type.startswith("multipart/"):
        raise ApiError(415, "unsupported_media_type", "upload the CSV as multipart/form-data")
    form = await read_form(request)
    unknown = sorted(set(form) - CSV_FIELDS)
    if unknown:
        raise ApiError(422, "unknown_field", f"unknown field {unknown[0]!r}", unknown[0][:64])
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        raise ApiError(422, "missing_field", "the CSV file goes in the form field 'file'", "file")
    default_text = str(form.get("text", "") or "")
    skip = str(form.get("skip_invalid", "false"))
    if skip not in ("true", "false"):
        raise ApiError(422, "invalid_value", "skip_invalid must be true or false", "skip_invalid")
    skip_invalid = skip == "true"
    typed_priority = str(form.get("priority", "0"))
    if not re.fullmatch(PRIORITY_PATTERN, typed_priority):
        raise ApiError(
            422, "invalid_priority", "priority must be a whole number from -100 to 100", "priority"
        )
    priority = int(typed_priority)
    rows = read_csv(upload.file.read(), default_text)
    key = idempotency_key(request)
    sending = request.app[SENDING]
    by_text: dict[str, list[str]] = {}
    for number, text in rows:
        by_text.setdefault(text, []).append(number)
    if len(by_text) == 1:
        ((text, recipients),) = by_text.items()
        template = NewMessage(to="", text=text, priority=priority)
        prepared = await sending.validate(template, recipients, skip_invalid=skip_invalid)
    else:
        prepared = await sending.validate_rows(rows, priority, skip_invalid=skip_invalid)
    _, created, loaded = await sending.queue_and_load(caller_of(request), prepared, key=key)
    if not created:
        check_replay(prepared.messages, loaded)
    skipped = prepared.problems if created else []
    answer = {"kind": "batch", "messages": loaded, "skipped": skipped}
    return json_answer(answer, status=202 if created else 200, headers=location(loaded, created))


def read_csv(data: bytes, default_text: str) -> list[tuple[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(422, "invalid_csv", "the CSV must be UTF-8", "file") from None
    try:
        return _rows(csv.reader(io.StringIO(text, newline="")), default_text)
    except csv.Error as exc:
        raise ApiError(422, "invalid_csv", f"the CSV cannot be read: {exc}", "file") from None


def _rows(reader: Any, default_text: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for cells in reader:
        if not cells or not any(cell.strip() for cell in cells):
            continue
        number = cells[0].strip()
        if not rows and not any(ch.isdigit() for ch in number):
            continue  # a header row such as "number,text"
        message = cells[1] if len(cells) > 1 and cells[1].strip() else default_text
        if not message.strip():
            raise ApiError(
                422,
                "empty_text",
                f"row {len(rows) + 1} has no text and no default 'text' was given",
                "text",
            )
        rows.append((number, message))
        if len(rows) > MAX_RECIPIENTS:
            raise ApiError(
                422, "too_many_recipients", f"at most {MAX_RECIPIENTS} rows per upload", "file"
            )
    if not rows:
        raise ApiError(422, "empty_csv", "the CSV has no rows", "file")
    return rows


def _text(request: web.Request, name: str, limit: int) -> str:
    """A text filter as given (1 to ``limit`` characters); "" when absent."""
    value = request.query.get(name)
    if value is None:
        return ""
    if not 1 <= len(value) <= limit:
        raise ApiError(422, "invalid_value", f"{name} must have 1 to {limit} characters", name)
    return value


async def message_filter(request: web.Request) -> MessageFilter:
    """The filter of ``GET /api/v1/messages`` (and its CSV): ``status``, ``to``, ``modem``,
    ``since``, ``until``, ``q``, ``batch``, and the cursor."""
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise ApiError(
            422,
            "invalid_value",
            f"status must be one of {', '.join(sorted(STATUSES))}",
            "status",
        )
    to = request.query.get("to")
    recipient = ""
    if to is not None:
        recipient = _text(request, "to", 64)
        region = await request.app[SENDING].preferences.default_region()
        with contextlib.suppress(InvalidNumber):  # not a number: no message is to it
            recipient = normalise(to, region)
    batch = request.query.get("batch")
    return MessageFilter(
        status=status or "",
        to=recipient,
        modem=_text(request, "modem", 32),
        since=query_time(request, "since"),
        until=query_time(request, "until"),
        q=_text(request, "q", 100),
        batch=query_int(request, "batch", 0, 1, MAX_ROW_ID) if batch is not None else None,
        before=cursor_before(request),
    )


async def list_messages(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 50, 1, 500)
    wanted = await message_filter(request)
    async with request.app[DB].read() as conn:
        rows = list(await conn.execute(message_query(wanted, limit + 1)))
        page = await messages_json(conn, rows[:limit])
    next_cursor = encode_cursor({"before": rows[limit - 1].id}) if len(rows) > limit else None
    return web.json_response({"messages": page, "next_cursor": next_cursor})


CSV_HEADER = (
    "id",
    "to",
    "name",
    "text",
    "status",
    "parts",
    "modem",
    "created_at",
    "sent_at",
    "delivered_at",
    "error",
    "created_by",
    "batch_id",
)


def csv_row(row: Any) -> tuple[Any, ...]:
    return (
        row.id,
        row.recipient,
        row.contact_name,
        row.text,
        row.status,
        row.segments,
        row.assigned_modem or row.modem,
        row.created_at,
        row.sent_at,
        row.delivered_at,
        row.error,
        row.created_by,
        row.batch_id,
    )


async def messages_csv(request: web.Request) -> web.StreamResponse:
    """The messages the same filters select, every page of them, as a streamed CSV."""
    wanted = await message_filter(request)
    name = f"messages-{utc_now():%Y%m%d-%H%M%S}.csv"
    rows = batches(request.app[DB], wanted, message_query)
    return await stream_csv(request, name, CSV_HEADER, rows, csv_row)


async def show_message(request: web.Request) -> web.Response:
    message_id = path_id(request)
    async with request.app[DB].read() as conn:
        found = await load_message(conn, message_id, with_timeline=True)
    if found is None:
        raise not_found(f"message {message_id}")
    return web.json_response(found)


@requires(Role.OPERATOR)
async def cancel_message(request: web.Request) -> web.Response:
    message_id = path_id(request)
    identity = identity_of(request)
    async with request.app[DB].begin() as conn:
        exists = (
            await conn.execute(select(messages.c.id).where(messages.c.id == message_id))
        ).first()
        if exists is None:
            raise not_found(f"message {message_id}")
        try:
            await cancel(conn, message_id, by=identity.actor)
        except CannotCancel as exc:
            raise ApiError(409, "too_late", str(exc)) from None
        await record(
            conn,
            identity.actor,
            "message.cancel",
            f"message:{message_id}",
            None,
            request[CLIENT_ADDRESS],
        )
    async with request.app[DB].read() as conn:
        found = await load_message(conn, message_id, with_timeline=True)
    return web.json_response(found)


def register(router: web.UrlDispatcher) -> None:
    router.add_post("/api/v1/messages", send, name="api.send")
    router.add_get("/api/v1/messages", list_messages, name="api.messages")
    router.add_get("/api/v1/messages.csv", messages_csv, name="api.messages_csv")
    router.add_post("/api/v1/messages/batch", send_csv, name="api.send_csv")
    router.add_get("/api/v1/messages/{id:[0-9]+}", show_message, name="api.message")
    router.add_post("/api/v1/messages/{id:[0-9]+}/cancel", cancel_message, name="api.cancel")
