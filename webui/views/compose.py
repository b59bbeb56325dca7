"""The compose page: recipients (numbers, contacts, groups), a template, the text with its live
counter, scheduling, and queueing through :mod:`webui.services.sending` (the same validation as
the API); its refusals become the page's error."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDict
from sqlalchemy import select

from gatewayd.store import Role, modems
from webui.auth.identity import requires
from webui.i18n import ngettext
from webui.keys import DB, SENDING
from webui.redirects import safe_next
from webui.services.addressbook import BookRecipients, address_book
from webui.services.caller import Caller
from webui.services.errors import ServiceError
from webui.services.numbers import split_recipients
from webui.services.sending import Composed
from webui.views.common import (
    client_address,
    field,
    identity_of,
    notify,
    read_form,
    render,
    row_ids,
)
from webui.views.countries import country_name
from webui.views.errors import problem_sentence, translated_error


async def _modem_names(request: web.Request) -> list[str]:
    async with request.app[DB].read() as conn:
        return [row.name for row in await conn.execute(select(modems.c.name).order_by("name"))]


async def _page(
    request: web.Request,
    form: MultiDict[str] | None = None,
    error: str | None = None,
    problems: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> web.Response:
    async with request.app[DB].read() as conn:
        book = await address_book(conn)
    values = form or MultiDict(request.query)
    context = {
        "form": values,
        "chosen_contacts": set(values.getall("contact", [])),
        "chosen_groups": set(values.getall("group", [])),
        "book": book,
        "modems": await _modem_names(request),
        "error": error,
        "problems": problems or [],
        "default_country": country_name(await request.app[SENDING].preferences.default_region()),
    }
    return await render(request, "compose.html", context, page="compose", status=status)


@requires(Role.OPERATOR)
async def compose_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@requires(Role.OPERATOR)
async def compose_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    composed = Composed(
        text=str(form.get("text", ""))[:40_000].replace("\r\n", "\n"),
        send_at=field(form, "send_at", 40),
        tz_offset=field(form, "tz_offset", 8),
        flash=form.get("flash") == "on",
        status_report=form.get("status_report", "on") == "on",
        modem=field(form, "modem", 32) or None,
    )
    chosen = BookRecipients(
        numbers=split_recipients(field(form, "to", 200_000)),
        contact_ids=row_ids(form.getall("contact", [])),
        group_ids=row_ids(form.getall("group", [])),
    )
    caller = Caller(identity_of(request).actor, client_address(request))
    try:
        ids = await request.app[SENDING].send_to_book(caller, composed, chosen)
    except ServiceError as exc:
        problems = [
            {"to": p.get("to", ""), "message": problem_sentence(p)}
            for p in exc.detail.get("problems", [])[:20]
        ]
        error = translated_error(exc.code, exc.message, exc.detail)
        return await _page(request, form, error, problems, status=422)
    count = len(ids)
    await notify(
        request, ngettext("%(n)d message queued.", "%(n)d messages queued.", count) % {"n": count}
    )
    target = safe_next(form.get("next"), default="")
    if target.startswith("/inbox/"):
        raise web.HTTPSeeOther(target)
    if count == 1:
        raise web.HTTPSeeOther(f"/outbox/{ids[0]}")
    raise web.HTTPSeeOther(f"/outbox?batch={ids[0]}")
