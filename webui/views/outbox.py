"""The outbox: sent and queued messages with filters and search, one message's timeline
(queued → sent → delivered, with times and modems) and cancelling a queued message."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from gatewayd.events import EVENTS, MessageStatusChanged
from gatewayd.queue import CannotCancel, cancel
from gatewayd.queue.view import load_message
from gatewayd.store import MessageStatus, Role, messages, modems, utc_now
from webui.audit import record
from webui.auth.identity import requires
from webui.i18n import gettext as _
from webui.keys import BUS, DB
from webui.views.common import (
    client_address,
    identity_of,
    int_or_none,
    notify,
    path_id,
    render,
)
from webui.views.queries import OutboxFilter, outbox_page

STATUSES = [status.value for status in MessageStatus]


def _filter_from(query: Any) -> OutboxFilter:
    status = str(query.get("status", ""))
    return OutboxFilter(
        status=status if status in STATUSES else "",
        search=str(query.get("q", "")).strip()[:100],
        modem=str(query.get("modem", "")).strip()[:32],
        before=int_or_none(query.get("before")),
        batch=int_or_none(query.get("batch")),
    )


async def outbox(request: web.Request) -> web.StreamResponse:
    wanted = _filter_from(request.query)
    async with request.app[DB].read() as conn:
        rows, next_before = await outbox_page(conn, wanted)
        modem_names = [r.name for r in await conn.execute(select(modems.c.name).order_by("name"))]
    more_query = {k: v for k, v in request.query.items() if k != "before"}
    if next_before is not None:
        more_query["before"] = str(next_before)
    context = {
        "rows": rows,
        "filter": wanted,
        "statuses": STATUSES,
        "modems": modem_names,
        "more_query": more_query if next_before is not None else None,
    }
    return await render(request, "outbox.html", context, page="outbox")


async def _loaded(request: web.Request) -> dict[str, Any]:
    message_id = path_id(request)
    async with request.app[DB].read() as conn:
        found = await load_message(conn, message_id, with_timeline=True)
    if found is None:
        raise web.HTTPNotFound(text=_("Not found."))
    return found


async def message_page(request: web.Request) -> web.StreamResponse:
    found = await _loaded(request)
    return await render(request, "message.html", {"message": found}, page="outbox")


async def message_json(request: web.Request) -> web.StreamResponse:
    """The message with its timeline, for the page's live refresh."""
    return web.json_response(await _loaded(request))


@requires(Role.OPERATOR)
async def cancel_message(request: web.Request) -> web.StreamResponse:
    message_id = path_id(request)
    identity = identity_of(request)
    async with request.app[DB].begin() as conn:
        exists = (
            await conn.execute(select(messages.c.id).where(messages.c.id == message_id))
        ).first()
        if exists is None:
            raise web.HTTPNotFound(text=_("Not found."))
        try:
            await cancel(conn, message_id, by=identity.actor)
        except CannotCancel:
            problem = True
        else:
            problem = False
            await record(
                conn,
                identity.actor,
                "message.cancel",
                f"message:{message_id}",
                None,
                client_address(request),
            )
    if problem:
        await notify(request, _("Only queued messages can be cancelled."), "error")
    else:
        await request.app[BUS].publish(
            EVENTS,
            MessageStatusChanged(id=message_id, status="cancelled", error=None, at=utc_now()),
        )
        await notify(request, _("Message cancelled."))
    raise web.HTTPSeeOther(f"/outbox/{message_id}")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/outbox", outbox, name="outbox")
    router.add_get("/outbox/{id:\\d+}", message_page, name="message")
    router.add_get("/outbox/{id:\\d+}.json", message_json)
    router.add_post("/outbox/{id:\\d+}/cancel", cancel_message)
