"""What every answer says about itself: nothing a browser or proxy may keep (``Cache-Control:
no-store``) on pages and API answers, since keys and generated passwords are shown there once,
and no ``Server: Python/… aiohttp/…`` banner on any answer, errors and static files included,
nor on the answers aiohttp gives to requests it cannot even parse."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.web_urldispatcher import PlainResource, StaticResource
from sqlalchemy import select

from gatewayd.config import ListenAddress
from gatewayd.store import Database, users
from tests.integration.web.conftest import WebEnv, csrf_from, login, settings_for
from tests.support.ports import free_port
from webui.app import create_app
from webui.options import options_from_settings
from webui.server import start

STREAMS = ("/events", "/api/events", "/api/v1/events")
"""Long-lived event streams: left out."""
CONSTANT_DATA = ("/ui/gsm7.json",)
"""Public, the same for everyone (the GSM alphabet): cacheable on purpose."""


def no_banner(headers: Any) -> bool:
    return "Server" not in headers or not re.search(r"python|aiohttp", headers["Server"], re.I)


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite: headers do not depend on the database."""
    return sqlite_url


def plain_get_paths(app: web.Application) -> list[str]:
    """Every GET route without a path parameter, static files and streams aside."""
    paths = []
    for resource in app.router.resources():
        if isinstance(resource, StaticResource) or not isinstance(resource, PlainResource):
            continue
        if any(route.method == "GET" for route in resource) and resource.canonical not in (
            *STREAMS,
            *CONSTANT_DATA,
        ):
            paths.append(resource.canonical)
    return sorted(paths)


async def test_every_page_and_api_answer_is_no_store_without_a_banner(web: WebEnv) -> None:
    assert (await login(web.client, "admin")).status == 303
    paths = plain_get_paths(web.app)
    assert {"/", "/admin/users", "/admin/api-keys", "/account", "/api/v1/messages"} <= set(paths)
    for path in [*paths, "/outbox/1", "/modems/nope", "/no/such/page", "/api/v1/no/such"]:
        answer = await web.client.get(path, allow_redirects=False)
        assert "no-store" in answer.headers.get("Cache-Control", ""), (path, answer.status)
        assert no_banner(answer.headers), (path, answer.headers.get("Server"))
    wrong_method = await web.client.put("/admin/users")
    assert wrong_method.status == 405 and no_banner(wrong_method.headers)


async def test_a_new_api_key_and_a_reset_password_are_never_stored(web: WebEnv) -> None:
    assert (await login(web.client, "admin")).status == 303
    page = await web.client.get("/admin/api-keys")
    token = csrf_from(await page.text())
    created = await web.client.post(
        "/admin/api-keys", data={"csrf_token": token, "name": "erp", "role": "operator"}
    )
    assert created.status == 200 and "smsgw_" in await created.text()
    assert "no-store" in created.headers["Cache-Control"]
    async with web.db.read() as conn:
        viewer_id = (
            await conn.execute(select(users.c.id).where(users.c.username == "viewer"))
        ).scalar_one()
    reset = await web.client.post(
        f"/admin/users/{viewer_id}",
        data={"csrf_token": token, "action": "reset_password"},
    )
    assert reset.status == 200
    assert "no-store" in reset.headers["Cache-Control"]


async def test_static_files_stay_cacheable_without_a_banner(web: WebEnv) -> None:
    answer = await web.client.get("/static/css/app.css")
    assert answer.status == 200
    assert "no-store" not in answer.headers.get("Cache-Control", "")
    assert no_banner(answer.headers)
    missing = await web.client.get("/static/nope.css")
    assert missing.status == 404 and no_banner(missing.headers)


@pytest.fixture
async def served(db_url: str) -> AsyncIterator[int]:
    """The app as ``webui run`` serves it (``webui.server.start``), on a free port."""
    settings = settings_for(db_url)
    db = Database.from_settings(settings.database)
    app = create_app(settings, db=db, options=options_from_settings(settings, run_dispatcher=False))
    port = free_port()
    runner = await start(app, ListenAddress("127.0.0.1", port))
    try:
        yield port
    finally:
        await runner.cleanup()
        await db.close()


async def raw_answer(port: int, request: bytes) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(65536), 10)
    finally:
        writer.close()
    return data.decode("latin-1").split("\r\n\r\n", 1)[0]


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /login HTTP/1.1\r\nHost: gw\r\n\r\n",
        b"GET /static/css/app.css HTTP/1.1\r\nHost: gw\r\n\r\n",
        b"GET /?x=%00 HTTP/1.1\r\nHost: gw\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: gw\r\nBroken header line\r\n\r\n",
        b"NOT-A-METHOD / HTTP/1.1\r\nHost: gw\r\n\r\n",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: gw\r\n\r\n",
    ],
    ids=["page", "static", "nul", "bad-header", "bad-method", "line-too-long"],
)
async def test_no_banner_even_on_requests_aiohttp_cannot_parse(
    served: int, request_bytes: bytes
) -> None:
    head = await raw_answer(served, request_bytes)
    assert head.startswith("HTTP/1."), head
    assert not re.search(r"(?im)^server:.*(python|aiohttp)", head), head
