"""``no_5xx``, the verdict of the hostile-input tests, against real answers of a loopback
aiohttp server: a server error of any kind fails with what was asked and answered, anything
else passes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.http_checks import BODY_SHOWN, no_5xx, server_error


async def answer_with(request: web.Request) -> web.Response:
    status = int(request.match_info["status"])
    body = request.query.get("body", "").encode() or bytes([0xFF, 0xFE]) + b"boom" * 400
    return web.Response(status=status, body=body)


@pytest.fixture
async def http() -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    app = web.Application()
    app.router.add_route("*", "/status/{status}", answer_with)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield session, str(server.make_url("/status"))
    finally:
        await server.close()


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
async def test_any_server_error_fails(http: tuple[aiohttp.ClientSession, str], status: int) -> None:
    session, base = http
    with pytest.raises(AssertionError) as caught:
        await no_5xx(await session.post(f"{base}/{status}"))
    message = str(caught.value)
    assert message.startswith(f"POST {base}/{status}: {status} \ufffd\ufffdboom")
    assert len(message) < len(f"POST {base}/{status}: {status} ") + BODY_SHOWN + 1


@pytest.mark.parametrize("status", [200, 202, 302, 400, 404, 413, 422, 429, 499])
async def test_anything_below_500_passes_and_is_returned(
    http: tuple[aiohttp.ClientSession, str], status: int
) -> None:
    session, base = http
    response = await session.get(f"{base}/{status}?body=fine", allow_redirects=False)
    assert await no_5xx(response) is response
    assert await response.text() == "fine"  # the body is still there for the caller


def test_the_rule_itself() -> None:
    assert server_error(499, "GET /x", "body") is None
    assert server_error(500, "GET /x", "body") == "GET /x: 500 body"
    assert server_error(503, "GET /x", "y" * 2000) == "GET /x: 503 " + "y" * BODY_SHOWN
