"""Recurring sends: ``/api/v1/recurring`` and ``/api/v1/recurring/{id}``. Anyone signed in
reads them; operators change them (``paused`` pauses and resumes). The checks and audit
entries are :class:`~webui.services.recurring.RecurringSends`'."""

from __future__ import annotations

from aiohttp import web

from gatewayd.store import Role
from webui.api.inputs import path_id, read_model
from webui.api.models import RecurringWrite
from webui.api.sending import caller_of
from webui.auth.identity import requires
from webui.keys import RECURRING


@requires(Role.VIEWER)
async def list_recurring(request: web.Request) -> web.Response:
    return web.json_response({"recurring": await request.app[RECURRING].list()})


@requires(Role.OPERATOR)
async def create_recurring(request: web.Request) -> web.Response:
    body = await read_model(request, RecurringWrite)
    saved = await request.app[RECURRING].create(caller_of(request), body.model_dump())
    return web.json_response(saved, status=201)


@requires(Role.VIEWER)
async def get_recurring(request: web.Request) -> web.Response:
    return web.json_response(await request.app[RECURRING].get(path_id(request)))


@requires(Role.OPERATOR)
async def replace_recurring(request: web.Request) -> web.Response:
    recurring_id = path_id(request)
    body = await read_model(request, RecurringWrite)
    saved = await request.app[RECURRING].replace(
        caller_of(request), recurring_id, body.model_dump()
    )
    return web.json_response(saved)


@requires(Role.OPERATOR)
async def delete_recurring(request: web.Request) -> web.Response:
    recurring_id = path_id(request)
    await request.app[RECURRING].delete(caller_of(request), recurring_id)
    return web.json_response({"id": recurring_id, "deleted": True})


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/v1/recurring", list_recurring, name="api.recurring")
    router.add_post("/api/v1/recurring", create_recurring, name="api.recurring_create")
    router.add_get("/api/v1/recurring/{id:[0-9]+}", get_recurring, name="api.recurring_one")
    router.add_put("/api/v1/recurring/{id:[0-9]+}", replace_recurring, name="api.recurring_replace")
    router.add_delete(
        "/api/v1/recurring/{id:[0-9]+}", delete_recurring, name="api.recurring_delete"
    )
