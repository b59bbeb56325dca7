"""The inbox: received messages threaded by sender, one conversation with a reply box."""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web

from webui.keys import DB
from webui.views.common import render
from webui.views.queries import conversation, inbox_threads


async def inbox(request: web.Request) -> web.StreamResponse:
    search = str(request.query.get("q", "")).strip()[:100]
    async with request.app[DB].read() as conn:
        threads = await inbox_threads(conn, search)
    return await render(request, "inbox.html", {"threads": threads, "search": search}, page="inbox")


async def thread(request: web.Request) -> web.StreamResponse:
    number = unquote(request.match_info["number"])[:32]
    async with request.app[DB].read() as conn:
        bubbles = await conversation(conn, number)
    if not bubbles:
        raise web.HTTPNotFound()
    return await render(
        request, "thread.html", {"number": number, "bubbles": bubbles}, page="inbox"
    )


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/inbox", inbox, name="inbox")
    router.add_get("/inbox/{number}", thread, name="thread")
