"""The alerts page (admins): where alerts go (addresses, webhook), and for each kind whether it
is on, its threshold, quiet period and channels; the active alerts and the last steps. The
banner of active alerts on every page comes with the page frame (:mod:`webui.views.common`)
and is refreshed from ``/ui/alerts`` when a live ``alert.changed`` event arrives. Checks and
audit entries are :class:`~webui.alerts.service.Alerts`'."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDict

from gatewayd.store import AlertKind, Role
from webui.alerts.service import active_alerts
from webui.alerts.settings import CHANNELS, THRESHOLDS
from webui.auth.identity import requires
from webui.i18n import gettext as _
from webui.keys import ALERTS, DB
from webui.services.caller import Caller
from webui.services.errors import ServiceError
from webui.views.common import client_address, field, identity_of, notify, read_form, render


def _number(form: MultiDict[str], name: str) -> Any:
    """A whole number as typed; anything else is handed on as typed, for the service to
    refuse with the field's name."""
    text = field(form, name, 40)
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return text


def form_document(form: MultiDict[str]) -> dict[str, Any]:
    addresses = field(form, "email_to", 4000).replace(",", " ").replace(";", " ").split()
    kinds: dict[str, Any] = {}
    for kind in AlertKind:
        name = kind.value
        values: dict[str, Any] = {
            "enabled": form.get(f"{name}.enabled") == "on",
            "channels": [c for c in CHANNELS if c in form.getall(f"{name}.channels", [])],
        }
        for key in ("threshold", "quiet", "window"):
            typed = _number(form, f"{name}.{key}")
            if typed is not None:
                values[key] = typed
        kinds[name] = values
    return {
        "email_to": addresses[:20],
        "webhook_url": field(form, "webhook_url", 2000) or None,
        "kinds": kinds,
    }


@requires(Role.ADMIN)
async def alerts_page(request: web.Request) -> web.StreamResponse:
    service = request.app[ALERTS]
    context = {
        "settings": (await service.settings()).to_json(),
        "listing": await service.listing(),
        "kinds": [kind.value for kind in AlertKind],
        "units": {kind.value: spec for kind, spec in THRESHOLDS.items()},
    }
    return await render(request, "alerts.html", context, page="alerts")


@requires(Role.ADMIN)
async def alerts_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    caller = Caller(identity_of(request).actor, client_address(request))
    try:
        await request.app[ALERTS].save(caller, form_document(form))
    except ServiceError as exc:
        await notify(request, _("Not saved: %(reason)s") % {"reason": exc}, "error")
        raise web.HTTPSeeOther("/admin/alerts") from None
    await notify(request, _("Alert settings saved."))
    raise web.HTTPSeeOther("/admin/alerts")


@requires(Role.VIEWER)
async def banner_fragment(request: web.Request) -> web.StreamResponse:
    """The banner of active alerts alone, for pages that refresh it."""
    async with request.app[DB].read() as conn:
        alerts = await active_alerts(conn)
    admin = identity_of(request).has_role(Role.ADMIN)
    context = {"alerts": alerts, "is_admin": admin}
    return aiohttp_jinja2.render_template("alert_banner.html", request, context)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/admin/alerts", alerts_page, name="alerts")
    router.add_post("/admin/alerts", alerts_submit)
    router.add_get("/ui/alerts", banner_fragment)
