"""The opt-out, block and allow lists: ``/api/v1/optouts`` and ``/api/v1/optouts/{number}``.

Anyone signed in may read them; operators change them. The work and its audit entries are
:class:`~webui.services.optouts.OptOuts`'s.
"""

from __future__ import annotations

from aiohttp import web

from gatewayd.store import Role
from webui.api.inputs import query_choice, query_int, query_text, read_model
from webui.api.models import OptOutCreate
from webui.api.sending import caller_of
from webui.auth.identity import requires
from webui.keys import OPT_OUTS
from webui.services.optouts import KINDS, MAX_OFFSET, MAX_SEARCH, PAGE_LIMIT


@requires(Role.VIEWER)
async def list_optouts(request: web.Request) -> web.Response:
    entries, total = await request.app[OPT_OUTS].list(
        search=query_text(request, "q", 0, MAX_SEARCH) or "",
        kind=query_choice(request, "kind", KINDS),
        limit=query_int(request, "limit", 100, 1, PAGE_LIMIT),
        offset=query_int(request, "offset", 0, 0, MAX_OFFSET),
    )
    return web.json_response({"entries": [e.as_json() for e in entries], "total": total})


@requires(Role.OPERATOR)
async def add_optout(request: web.Request) -> web.Response:
    body = await read_model(request, OptOutCreate)
    entry, new = await request.app[OPT_OUTS].add(
        caller_of(request),
        body.number,
        kind=body.kind,
        prefix=body.prefix,
        note=body.note,
        source="api",
    )
    return web.json_response(entry.as_json(), status=201 if new else 200)


@requires(Role.OPERATOR)
async def remove_optout(request: web.Request) -> web.Response:
    number = request.match_info["number"]
    kind = request.query.get("kind", "opt_out")
    await request.app[OPT_OUTS].remove(caller_of(request), number, kind=kind)
    return web.json_response({"number": number, "kind": kind, "removed": True})


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/v1/optouts", list_optouts, name="api.optouts")
    router.add_post("/api/v1/optouts", add_optout, name="api.optout_add")
    router.add_delete("/api/v1/optouts/{number}", remove_optout, name="api.optout_remove")
