"""``GET /api/v1/inbox``: received (reassembled) messages, newest first, cursor-paginated,
filtered by ``since``, ``until``, ``from``, ``modem``, ``q`` and ``unread``; the same as a
streamed CSV at ``GET /api/v1/inbox.csv``."""

from __future__ import annotations

import contextlib
from typing import Any

from aiohttp import web

from gatewayd.numbers import InvalidNumber, normalise
from gatewayd.queue.view import iso
from gatewayd.store import utc_now
from webui.api.inputs import cursor_before, encode_cursor, query_int, query_time
from webui.errors import ApiError
from webui.keys import DB, SENDING
from webui.services.listing import InboxFilter, batches, inbox_query
from webui.streaming import stream_csv

CSV_HEADER = ("id", "from", "name", "text", "modem", "received_at", "read_at")


def inbox_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "from": row.sender,
        "text": row.text,
        "modem": row.modem,
        "received_at": iso(row.received_at),
        "read": row.read_at is not None,
    }


def _text(request: web.Request, name: str, limit: int) -> str:
    """A text filter as given (1 to ``limit`` characters); "" when absent."""
    value = request.query.get(name)
    if value is None:
        return ""
    if not 1 <= len(value) <= limit:
        raise ApiError(422, "invalid_value", f"{name} must have 1 to {limit} characters", name)
    return value


async def inbox_filter(request: web.Request) -> InboxFilter:
    sender = request.query.get("from")
    number = ""
    if sender is not None:
        number = _text(request, "from", 32)  # senders may be names ("Claro") or short codes
        region = await request.app[SENDING].preferences.default_region()
        with contextlib.suppress(InvalidNumber):
            number = normalise(sender, region)
    unread = request.query.get("unread")
    if unread not in (None, "true", "false"):
        raise ApiError(422, "invalid_value", "unread must be true or false", "unread")
    return InboxFilter(
        sender=number,
        modem=_text(request, "modem", 32),
        since=query_time(request, "since"),
        until=query_time(request, "until"),
        q=_text(request, "q", 100),
        unread=unread == "true",
        before=cursor_before(request),
    )


async def list_inbox(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 50, 1, 500)
    wanted = await inbox_filter(request)
    async with request.app[DB].read() as conn:
        rows = (await conn.execute(inbox_query(wanted, limit + 1))).all()
    page = [inbox_json(row) for row in rows[:limit]]
    next_cursor = encode_cursor({"before": rows[limit - 1].id}) if len(rows) > limit else None
    return web.json_response({"messages": page, "next_cursor": next_cursor})


def csv_row(row: Any) -> tuple[Any, ...]:
    return (row.id, row.sender, row.contact_name, row.text, row.modem, row.received_at, row.read_at)


async def inbox_csv(request: web.Request) -> web.StreamResponse:
    wanted = await inbox_filter(request)
    name = f"inbox-{utc_now():%Y%m%d-%H%M%S}.csv"
    rows = batches(request.app[DB], wanted, inbox_query)
    return await stream_csv(request, name, CSV_HEADER, rows, csv_row)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/v1/inbox", list_inbox, name="api.inbox")
    router.add_get("/api/v1/inbox.csv", inbox_csv, name="api.inbox_csv")
