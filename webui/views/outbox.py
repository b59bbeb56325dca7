"""The outbox: sent and queued messages with filters (status, modem, dates, text or contact
name, batch), their CSV export, new rows added live, bulk actions (cancel, send again, delete;
sending ``unknown`` messages again asks first), one message's timeline (queued → sent →
delivered, with times and modems) and cancelling a queued message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select

from gatewayd.events import EVENTS, MessageStatusChanged
from gatewayd.queue import CannotCancel, cancel
from gatewayd.queue.view import iso, load_message
from gatewayd.store import MessageStatus, Role, messages, modems, utc_now
from webui.audit import record
from webui.auth.identity import requires
from webui.i18n import gettext as _
from webui.i18n import ngettext
from webui.keys import BUS, DB, SENDING
from webui.services import bulk
from webui.services.addressbook import names_of
from webui.services.caller import Caller
from webui.services.errors import ServiceError
from webui.services.listing import MessageFilter, batches, message_query
from webui.streaming import stream_csv
from webui.views.common import (
    client_address,
    date_range,
    identity_of,
    int_or_none,
    notify,
    path_id,
    read_form,
    render,
    row_ids,
)
from webui.views.errors import translated_error

STATUSES = [status.value for status in MessageStatus]
PAGE = 50
LIVE_ROWS = 50
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
FILTER_KEYS = ("status", "q", "modem", "from", "until", "tz", "batch")


def filter_from(query: Mapping[str, str]) -> MessageFilter:
    """The page's filter from its query; values that make no sense are left out."""
    status = str(query.get("status", ""))
    since, until = date_range(query)
    return MessageFilter(
        status=status if status in STATUSES else "",
        q=str(query.get("q", "")).strip()[:100],
        modem=str(query.get("modem", "")).strip()[:32],
        since=since,
        until=until,
        batch=int_or_none(query.get("batch")),
        before=int_or_none(query.get("before")),
    )


def filter_query(query: Mapping[str, str]) -> dict[str, str]:
    """The filter part of a page's query (to carry to its export and older pages)."""
    return {key: str(query[key]) for key in FILTER_KEYS if query.get(key)}


async def _modem_names(request: web.Request) -> list[str]:
    async with request.app[DB].read() as conn:
        return [r.name for r in await conn.execute(select(modems.c.name).order_by("name"))]


async def outbox(request: web.Request) -> web.StreamResponse:
    wanted = filter_from(request.query)
    async with request.app[DB].read() as conn:
        rows = list((await conn.execute(message_query(wanted, PAGE + 1))).all())
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    kept = filter_query(request.query)
    context = {
        "rows": rows,
        "filter": wanted,
        "typed": {key: request.query.get(key, "") for key in ("from", "until", "tz")},
        "statuses": STATUSES,
        "modems": await _modem_names(request),
        "more_query": urlencode({**kept, "before": rows[-1].id}) if more else None,
        "export_query": urlencode(kept),
        "first_page": wanted.before is None,
        "newest_id": rows[0].id if rows else 0,
        "live_query": urlencode({k: v for k, v in kept.items()}),
    }
    return await render(request, "outbox.html", context, page="outbox")


def row_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "to": row.recipient,
        "name": row.contact_name,
        "text": row.text[:200],
        "status": row.status,
        "segments": row.segments,
        "modem": row.assigned_modem or row.modem,
        "created_at": iso(row.created_at),
    }


async def outbox_rows_json(request: web.Request) -> web.StreamResponse:
    """Rows newer than ``after`` that the page's filter selects, newest first: what the open
    outbox adds when messages are queued."""
    after = int_or_none(request.query.get("after")) or 0
    wanted = filter_from(request.query)
    query = message_query(wanted, LIVE_ROWS).where(messages.c.id > after)
    async with request.app[DB].read() as conn:
        rows = (await conn.execute(query)).all()
    return web.json_response({"rows": [row_json(row) for row in rows]})


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


async def outbox_csv(request: web.Request) -> web.StreamResponse:
    wanted = filter_from(request.query)
    name = f"outbox-{utc_now():%Y%m%d-%H%M}.csv"
    rows = batches(request.app[DB], wanted, message_query)
    return await stream_csv(request, name, CSV_HEADER, rows, csv_row)


async def _loaded(request: web.Request) -> dict[str, Any]:
    message_id = path_id(request)
    async with request.app[DB].read() as conn:
        found = await load_message(conn, message_id, with_timeline=True)
        if found is not None:
            found["contact_name"] = (await names_of(conn, [found["to"]])).get(found["to"])
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


def _back(form: Mapping[str, str]) -> str:
    """The outbox page the bulk form came from (its filters kept)."""
    kept = urlencode(filter_query({k: str(form.get(k, "")) for k in FILTER_KEYS}))
    return f"/outbox?{kept}" if kept else "/outbox"


def _summary(action: str, outcome: bulk.Outcome) -> str:
    done, skipped = len(outcome.done), len(outcome.skipped)
    if action == "cancel":
        text = ngettext("%(n)d message cancelled.", "%(n)d messages cancelled.", done)
    elif action == "resend":
        text = ngettext("%(n)d message queued again.", "%(n)d messages queued again.", done)
    else:
        text = ngettext("%(n)d message deleted.", "%(n)d messages deleted.", done)
    text = text % {"n": done}
    if skipped:
        text += " " + ngettext(
            "%(n)d left as it was (its status does not allow it).",
            "%(n)d left as they were (their status does not allow it).",
            skipped,
        ) % {"n": skipped}
    if outcome.problems:
        n = len(outcome.problems)
        text += " " + ngettext(
            "%(n)d could not be sent again (see the outbox).",
            "%(n)d could not be sent again (see the outbox).",
            n,
        ) % {"n": n}
    return text


@requires(Role.OPERATOR)
async def bulk_action(request: web.Request) -> web.StreamResponse:
    """Cancel, send again or delete the chosen messages (``id``, repeated). Sending
    ``unknown`` messages again needs them listed in ``confirm_unknown`` too: without, a page
    asks (and says why) first."""
    form = await read_form(request)
    action = str(form.get("action", ""))
    ids = row_ids(form.getall("id", []))
    caller = Caller(identity_of(request).actor, client_address(request))
    app = request.app
    try:
        if action == "cancel":
            outcome = await bulk.cancel_many(app[DB], app[BUS], caller, ids)
        elif action == "resend":
            confirmed = row_ids(form.getall("confirm_unknown", []))
            outcome = await bulk.resend_many(app[SENDING], caller, ids, confirm_unknown=confirmed)
        elif action == "delete":
            outcome = await bulk.delete_many(app[DB], caller, ids)
        else:
            raise web.HTTPBadRequest(text=_("Unknown action."))
    except bulk.NeedsConfirmation as exc:
        return await _confirm_unknown(request, form, ids, exc.detail["unknown"])
    except ServiceError as exc:
        await notify(request, translated_error(exc.code, exc.message, exc.detail), "error")
        raise web.HTTPSeeOther(_back(form)) from None
    await notify(request, _summary(action, outcome), "error" if not outcome.done else "ok")
    if action == "resend" and len(outcome.done) > 1:
        raise web.HTTPSeeOther(f"/outbox?batch={outcome.done[0]}")
    if action == "resend" and outcome.done:
        raise web.HTTPSeeOther(f"/outbox/{outcome.done[0]}")
    raise web.HTTPSeeOther(_back(form))


async def _confirm_unknown(
    request: web.Request, form: Mapping[str, str], ids: list[int], unknown: list[int]
) -> web.StreamResponse:
    async with request.app[DB].read() as conn:
        rows = (
            await conn.execute(
                message_query(MessageFilter(), len(unknown)).where(messages.c.id.in_(unknown))
            )
        ).all()
    context = {
        "rows": rows,
        "ids": ids,
        "unknown": unknown,
        "others": [i for i in ids if i not in set(unknown)],
        "back": _back(form),
        "kept": filter_query({k: str(form.get(k, "")) for k in FILTER_KEYS}),
    }
    return await render(request, "outbox_confirm.html", context, page="outbox", status=409)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/outbox", outbox, name="outbox")
    router.add_get("/outbox.csv", outbox_csv, name="outbox_csv")
    router.add_post("/outbox/bulk", bulk_action)
    router.add_get("/ui/outbox.json", outbox_rows_json)
    router.add_get("/outbox/{id:\\d+}", message_page, name="message")
    router.add_get("/outbox/{id:\\d+}.json", message_json)
    router.add_post("/outbox/{id:\\d+}/cancel", cancel_message)
