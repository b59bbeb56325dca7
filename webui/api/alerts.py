"""Alerts: ``GET /api/v1/alerts`` (the active ones and the recent steps; anyone signed in) and
``GET``/``PUT /api/v1/alerts/settings`` (admins only). Checks and audit entries are
:class:`~webui.alerts.service.Alerts`'."""

from __future__ import annotations

from aiohttp import web

from gatewayd.store import Role
from webui.api.inputs import read_model
from webui.api.models import AlertSettingsWrite
from webui.api.sending import caller_of
from webui.auth.identity import requires
from webui.keys import ALERTS


@requires(Role.VIEWER)
async def list_alerts(request: web.Request) -> web.Response:
    return web.json_response(await request.app[ALERTS].listing())


@requires(Role.ADMIN)
async def get_settings(request: web.Request) -> web.Response:
    return web.json_response((await request.app[ALERTS].settings()).to_json())


@requires(Role.ADMIN)
async def put_settings(request: web.Request) -> web.Response:
    body = await read_model(request, AlertSettingsWrite, whole=True)
    document = body.model_dump(exclude_unset=True)
    document["kinds"] = {
        kind: values for kind, values in (document.get("kinds") or {}).items() if values is not None
    }
    saved = await request.app[ALERTS].save(caller_of(request), document)
    return web.json_response(saved.to_json())


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/v1/alerts", list_alerts, name="api.alerts")
    router.add_get("/api/v1/alerts/settings", get_settings, name="api.alert_settings")
    router.add_put("/api/v1/alerts/settings", put_settings)
