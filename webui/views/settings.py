"""Settings from the web UI: the signed-in user's interface language, and (admins) the
installation's preferences kept by :mod:`webui.services.preferences`: the default country of
numbers typed without ``+`` (asked for on the dashboard until it is chosen) and the SIM plans
of the modems."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web
from sqlalchemy import update

from gatewayd.store import Role, users
from webui.auth.identity import requires
from webui.i18n import LANGUAGE_CHOICES
from webui.i18n import gettext as _
from webui.keys import DB, SENDING
from webui.redirects import safe_next
from webui.services.caller import Caller
from webui.services.errors import ServiceError
from webui.views.common import (
    client_address,
    field,
    identity_of,
    int_or_none,
    notify,
    read_form,
    render,
)
from webui.views.countries import calling_code, country_choices, country_name


async def set_language(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    identity = identity_of(request)
    choice = field(form, "language", 8)
    if choice not in LANGUAGE_CHOICES or identity.kind != "user":
        raise web.HTTPBadRequest()
    async with request.app[DB].begin() as conn:
        await conn.execute(
            update(users).where(users.c.id == identity.id).values(locale=LANGUAGE_CHOICES[choice])
        )
    raise web.HTTPSeeOther(safe_next(str(form.get("next", ""))))


@requires(Role.ADMIN)
async def settings_page(request: web.Request) -> web.StreamResponse:
    preferences = request.app[SENDING].preferences
    chosen = await preferences.chosen_region()
    configured = preferences.configured_region
    context = {
        "countries": country_choices(),
        "chosen": chosen,
        "configured": configured.upper() if configured else None,
        "configured_name": country_name(configured),
    }
    return await render(request, "settings.html", context, page="settings")


@requires(Role.ADMIN)
async def save_settings(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    region = field(form, "default_region", 8)
    caller = Caller(identity_of(request).actor, client_address(request))
    target = safe_next(str(form.get("next", "")), default="/admin/settings")
    try:
        await request.app[SENDING].preferences.set_default_region(caller, region)
    except ServiceError:
        await notify(request, _("Choose a country from the list."), "error")
        raise web.HTTPSeeOther(target) from None
    await notify(
        request,
        _("Numbers without + are now read as numbers of %(country)s (+%(code)s).")
        % {"country": country_name(region), "code": calling_code(region)},
    )
    raise web.HTTPSeeOther(target)


@requires(Role.ADMIN)
async def save_sim_plan(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    form = await read_form(request)
    typed = field(form, "parts", 12)
    parts = int_or_none(typed) if typed else 0
    caller = Caller(identity_of(request).actor, client_address(request))
    target = f"/modems/{quote(name, safe='')}"
    try:
        if parts is None:
            raise ServiceError("invalid_value", "not a number", "parts")
        await request.app[SENDING].preferences.set_sim_plan(caller, name[:32], parts)
    except ServiceError:
        await notify(request, _("A SIM plan is a whole number of SMS a month."), "error")
        raise web.HTTPSeeOther(target) from None
    await notify(request, _("SIM plan saved."))
    raise web.HTTPSeeOther(target)


def register(router: web.UrlDispatcher) -> None:
    router.add_post("/settings/language", set_language, name="language")
    router.add_get("/admin/settings", settings_page, name="settings")
    router.add_post("/admin/settings", save_settings)
    router.add_post("/modems/{name}/plan", save_sim_plan)
