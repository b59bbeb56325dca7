"""The inbox: received messages threaded by sender (with contact names and unread counts),
filters (text or name, modem, dates, unread only), the CSV export, read/unread and delete for
chosen conversations, and one conversation with a reply box (opening it marks it read).

What is read is kept in the database (``incoming_messages.read_at``), so the unread count of
the menu survives a reload and is the same in every browser."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlencode

from aiohttp import web
from sqlalchemy import delete, select, update

from gatewayd.store import Role, incoming_messages, modems, utc_now
from webui.audit import record
from webui.i18n import gettext as _
from webui.i18n import ngettext
from webui.keys import DB
from webui.services.addressbook import names_of
from webui.services.listing import (
    InboxFilter,
    batches,
    inbox_query,
    inbox_threads,
    unread_count,
)
from webui.streaming import stream_csv
from webui.views.common import (
    client_address,
    date_range,
    identity_of,
    int_or_none,
    notify,
    read_form,
    render,
)
from webui.views.queries import conversation

FILTER_KEYS = ("q", "modem", "from", "until", "tz", "unread")
CSV_HEADER = ("id", "from", "name", "text", "modem", "received_at", "read_at")
MAX_SENDERS = 500


def filter_from(query: Mapping[str, str]) -> InboxFilter:
    since, until = date_range(query)
    return InboxFilter(
        q=str(query.get("q", "")).strip()[:100],
        modem=str(query.get("modem", "")).strip()[:32],
        since=since,
        until=until,
        unread=str(query.get("unread", "")) in ("1", "on", "true"),
        before=int_or_none(query.get("before")),
    )


def filter_query(query: Mapping[str, str]) -> dict[str, str]:
    return {key: str(query[key]) for key in FILTER_KEYS if query.get(key)}


def sender_of(request: web.Request) -> str:
    number = unquote(request.match_info["number"])[:32]
    if "\x00" in number:  # no stored number holds one
        raise web.HTTPNotFound(text=_("No messages from or to this number."))
    return number


async def inbox(request: web.Request) -> web.StreamResponse:
    wanted = filter_from(request.query)
    async with request.app[DB].read() as conn:
        threads = await inbox_threads(conn, wanted)
        modem_names = [r.name for r in await conn.execute(select(modems.c.name).order_by("name"))]
    kept = filter_query(request.query)
    context = {
        "threads": threads,
        "filter": wanted,
        "typed": {key: request.query.get(key, "") for key in ("from", "until", "tz")},
        "modems": modem_names,
        "export_query": urlencode(kept),
        "kept": kept,
    }
    return await render(request, "inbox.html", context, page="inbox")


def csv_row(row: Any) -> tuple[Any, ...]:
    return (
        row.id,
        row.sender,
        row.contact_name,
        row.text,
        row.modem,
        row.received_at,
        row.read_at,
    )


async def inbox_csv(request: web.Request) -> web.StreamResponse:
    wanted = filter_from(request.query)
    name = f"inbox-{utc_now():%Y%m%d-%H%M}.csv"
    rows = batches(request.app[DB], wanted, inbox_query)
    return await stream_csv(request, name, CSV_HEADER, rows, csv_row)


async def counts_json(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].read() as conn:
        return web.json_response({"unread": await unread_count(conn)})


async def thread(request: web.Request) -> web.StreamResponse:
    number = sender_of(request)
    async with request.app[DB].begin() as conn:
        bubbles = await conversation(conn, number)
        name = (await names_of(conn, [number])).get(number)
        if bubbles:  # opening a conversation reads it
            await conn.execute(
                update(incoming_messages)
                .where(incoming_messages.c.sender == number, incoming_messages.c.read_at.is_(None))
                .values(read_at=utc_now())
            )
    if not bubbles:
        raise web.HTTPNotFound(text=_("No messages from or to this number."))
    context = {"number": number, "name": name, "bubbles": bubbles}
    return await render(request, "thread.html", context, page="inbox")


async def _mark(request: web.Request, senders: list[str], read: bool) -> int:
    """Mark every message of ``senders`` read or unread; how many changed."""
    async with request.app[DB].begin() as conn:
        result = await conn.execute(
            update(incoming_messages)
            .where(
                incoming_messages.c.sender.in_(senders),
                incoming_messages.c.read_at.is_(None)
                if read
                else incoming_messages.c.read_at.is_not(None),
            )
            .values(read_at=utc_now() if read else None)
        )
    return int(result.rowcount or 0)


async def delete_threads(request: web.Request, senders: list[str]) -> int:
    identity = identity_of(request)
    async with request.app[DB].begin() as conn:
        result = await conn.execute(
            delete(incoming_messages).where(incoming_messages.c.sender.in_(senders))
        )
        removed = int(result.rowcount or 0)
        if removed:
            await record(
                conn,
                identity.actor,
                "inbox.delete",
                senders[0] if len(senders) == 1 else None,
                {"senders": senders, "messages": removed},
                client_address(request),
            )
    return removed


async def bulk_action(request: web.Request) -> web.StreamResponse:
    """``read``, ``unread`` (anyone signed in: it is their view of the inbox) or ``delete``
    (operators) the conversations of the chosen senders (``sender``, repeated)."""
    form = await read_form(request)
    action = str(form.get("action", ""))
    senders = sorted({s.strip()[:32] for s in form.getall("sender", []) if s.strip()})
    back = str(form.get("back", "")) or "/inbox"
    if not back.startswith("/inbox"):
        back = "/inbox"
    if not senders or len(senders) > MAX_SENDERS:
        await notify(request, _("Choose at least one conversation."), "error")
        raise web.HTTPSeeOther(back)
    if action in ("read", "unread"):
        changed = await _mark(request, senders, action == "read")
        text = (
            ngettext("%(n)d message marked read.", "%(n)d messages marked read.", changed)
            if action == "read"
            else ngettext("%(n)d message marked unread.", "%(n)d messages marked unread.", changed)
        )
        await notify(request, text % {"n": changed})
    elif action == "delete":
        if not identity_of(request).has_role(Role.OPERATOR):
            raise web.HTTPForbidden(text=_("Deleting needs the operator role."))
        removed = await delete_threads(request, senders)
        await notify(
            request,
            ngettext("%(n)d message deleted.", "%(n)d messages deleted.", removed) % {"n": removed},
        )
        if back.startswith("/inbox/"):
            back = "/inbox"
    else:
        raise web.HTTPBadRequest(text=_("Unknown action."))
    raise web.HTTPSeeOther(back)


async def mark_thread_read(request: web.Request) -> web.StreamResponse:
    """The open conversation read what just arrived in it (its script asks)."""
    changed = await _mark(request, [sender_of(request)], True)
    async with request.app[DB].read() as conn:
        unread = await unread_count(conn)
    return web.json_response({"changed": changed, "unread": unread})


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/inbox", inbox, name="inbox")
    router.add_get("/inbox.csv", inbox_csv, name="inbox_csv")
    router.add_post("/inbox/bulk", bulk_action)
    router.add_get("/ui/counts.json", counts_json)
    router.add_get("/inbox/{number}", thread, name="thread")
    router.add_post("/inbox/{number}/read", mark_thread_read)
