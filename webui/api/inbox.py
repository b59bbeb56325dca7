"""``GET /api/v1/inbox``: received (reassembled) messages, newest first, cursor-paginated."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from gatewayd.queue.view import iso
from gatewayd.store import incoming_messages
from webui.api.inputs import cursor_before, encode_cursor, query_int, query_time
from webui.keys import DB


def inbox_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "from": row.sender,
        "text": row.text,
        "modem": row.modem,
        "received_at": iso(row.received_at),
    }


async def list_inbox(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 50, 1, 500)
    before = cursor_before(request)
    since = query_time(request, "since")
    query = select(incoming_messages).order_by(incoming_messages.c.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(incoming_messages.c.id < before)
    if since is not None:
        query = query.where(incoming_messages.c.received_at >= since)
    async with request.app[DB].read() as conn:
        rows = (await conn.execute(query)).all()
    page = [inbox_json(row) for row in rows[:limit]]
    next_cursor = encode_cursor({"before": rows[limit - 1].id}) if len(rows) > limit else None
    return web.json_response({"messages": page, "next_cursor": next_cursor})


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/v1/inbox", list_inbox, name="api.inbox")
