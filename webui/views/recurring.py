"""The recurring sends page: each with its schedule, next runs, state and last runs; a form
for a new one (daily, weekly, monthly or cron, in a time zone, to numbers and groups); pause,
resume and delete. Everything is :class:`~webui.services.recurring.RecurringSends`' to check
and audit."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDict

from gatewayd.store import Role
from webui.auth.identity import requires
from webui.i18n import gettext as _
from webui.keys import RECURRING
from webui.services.caller import Caller
from webui.services.errors import ServiceError
from webui.views.common import (
    client_address,
    field,
    identity_of,
    int_or_none,
    notify,
    path_id,
    read_form,
    render,
)

EVERY = ("day", "week", "month", "cron")


def _caller(request: web.Request) -> Caller:
    return Caller(identity_of(request).actor, client_address(request))


def form_fields(form: MultiDict[str]) -> dict[str, Any]:
    every = field(form, "every", 8)
    schedule: dict[str, Any]
    if every == "cron":
        schedule = {"cron": field(form, "cron", 100)}
    else:
        schedule = {"every": every if every in EVERY else "day", "at": field(form, "at", 5)}
        if every == "week":
            schedule["weekdays"] = [
                d for d in (int_or_none(v) for v in form.getall("weekday", [])) if d is not None
            ][:7]
        if every == "month":
            schedule["day"] = int_or_none(field(form, "day", 2)) or 0
    groups = [g for g in (int_or_none(v) for v in form.getall("group", [])) if g and g > 0]
    return {
        "name": field(form, "name", 100),
        "text": str(form.get("text", ""))[:40_000],
        "to": field(form, "to", 20_000).replace(",", " ").split()[:1000],
        "group_ids": groups[:100],
        "schedule": schedule,
        "tz": field(form, "tz", 64) or "UTC",
        "paused": False,
    }


@requires(Role.VIEWER)
async def recurring_page(request: web.Request) -> web.StreamResponse:
    service = request.app[RECURRING]
    context = {
        "items": await service.list(),
        "groups": await service.groups(),
        "weekdays": range(1, 8),
    }
    return await render(request, "recurring.html", context, page="recurring")


@requires(Role.OPERATOR)
async def create_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    try:
        saved = await request.app[RECURRING].create(_caller(request), form_fields(form))
    except ServiceError as exc:
        await notify(request, _("Not saved: %(reason)s") % {"reason": exc}, "error")
        raise web.HTTPSeeOther("/recurring") from None
    await notify(request, _("Recurring send %(name)s saved.") % {"name": saved["name"]})
    raise web.HTTPSeeOther("/recurring")


async def _pause(request: web.Request, paused: bool) -> web.StreamResponse:
    try:
        await request.app[RECURRING].set_paused(_caller(request), path_id(request), paused)
    except ServiceError as exc:
        await notify(request, _("Not saved: %(reason)s") % {"reason": exc}, "error")
    raise web.HTTPSeeOther("/recurring")


@requires(Role.OPERATOR)
async def pause_submit(request: web.Request) -> web.StreamResponse:
    return await _pause(request, True)


@requires(Role.OPERATOR)
async def resume_submit(request: web.Request) -> web.StreamResponse:
    return await _pause(request, False)


@requires(Role.OPERATOR)
async def delete_submit(request: web.Request) -> web.StreamResponse:
    try:
        await request.app[RECURRING].delete(_caller(request), path_id(request))
    except ServiceError as exc:
        await notify(request, _("Not removed: %(reason)s") % {"reason": exc}, "error")
    raise web.HTTPSeeOther("/recurring")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/recurring", recurring_page, name="recurring")
    router.add_post("/recurring", create_submit)
    router.add_post("/recurring/{id}/pause", pause_submit)
    router.add_post("/recurring/{id}/resume", resume_submit)
    router.add_post("/recurring/{id}/delete", delete_submit)
