"""Access that must end at once, in one web process (the multi-process half is
``tests/acceptance/test_web_processes_share_access.py``): a copied session cookie after sign-out,
open live streams (``/events``) after sign-out, a password change, a disabled user or a new
role, a key revoked on the admin page, a client account revoked (its keys and their streams),
and the cap on live streams per user."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientResponse, CookieJar
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application, Request
from sqlalchemy import select

from gatewayd.store import api_keys, users
from tests.integration.core_flow.harness import eventually
from tests.integration.web.conftest import PASSWORD, WebEnv, csrf_from, login
from webui.keys import OPTIONS

ENDS_WITHIN = 3.0
"""Seconds a stream may take to close: far below the periodic re-check (30 s)."""

Client = TestClient[Request, Application]


@pytest.fixture
async def browsers(web: WebEnv) -> AsyncIterator[list[Client]]:
    """Two more browsers on the same server, each with its own cookies."""
    server: TestServer = web.client.server  # type: ignore[assignment]
    clients = [TestClient(server, cookie_jar=CookieJar(unsafe=True)) for _ in range(2)]
    try:
        yield clients
    finally:
        for client in clients:
            await client.close()


async def signed_in(client: Client, username: str) -> str:
    """Sign in; the session's CSRF token."""
    assert (await login(client, username)).status == 303
    me = await (await client.get("/api/v1/me")).json()
    return str(me["csrf_token"])


async def open_stream(client: Client, **headers: str) -> ClientResponse:
    response = await client.get("/events", headers=headers)
    assert response.status == 200, await response.text()
    first = await asyncio.wait_for(response.content.readuntil(b"\r\n\r\n"), 5)
    assert b"event: ready" in first
    return response


async def ended(stream: ClientResponse) -> bytes:
    """The rest of a stream, once the server has closed it."""
    return await asyncio.wait_for(stream.content.read(), ENDS_WITHIN)


async def test_a_copied_cookie_is_worth_nothing_after_sign_out(web: WebEnv) -> None:
    await signed_in(web.client, "operator")
    copied = {c.key: c.value for c in web.client.session.cookie_jar}["smsgw_session"]
    page = await web.client.get("/compose")
    await web.client.post(
        "/logout", data={"csrf_token": csrf_from(await page.text())}, allow_redirects=False
    )
    async with aiohttp.ClientSession() as thief:
        replay = await thief.get(
            web.client.make_url("/api/v1/me"), headers={"Cookie": f"smsgw_session={copied}"}
        )
        assert replay.status == 401


async def test_sign_out_ends_every_session_and_stream_of_the_user(
    web: WebEnv, browsers: list[Client]
) -> None:
    first, second = browsers
    token = await signed_in(first, "operator")
    await signed_in(second, "operator")
    mine, other = await open_stream(first), await open_stream(second)
    await first.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert b"event: session.ended" in await ended(mine)
    assert b"event: session.ended" in await ended(other), "the other browser is signed out too"
    assert (await second.get("/api/v1/me")).status == 401


@pytest.mark.parametrize("change", ["password", "disable", "role", "lock"])
async def test_a_change_of_the_user_ends_every_session_and_stream(
    web: WebEnv, browsers: list[Client], change: str
) -> None:
    first, second = browsers
    token = await signed_in(first, "operator")
    await signed_in(second, "operator")
    streams = [await open_stream(first), await open_stream(second)]
    if change == "password":
        answer = await first.post(
            "/api/v1/me/password",
            headers={"X-CSRF-Token": token},
            json={"current_password": PASSWORD, "new_password": "another long passphrase"},
        )
        assert answer.status == 200
    else:
        admin_token = await signed_in(web.client, "admin")
        async with web.db.read() as conn:
            user_id = (
                await conn.execute(select(users.c.id).where(users.c.username == "operator"))
            ).scalar_one()
        if change in ("disable", "role"):
            body: dict[str, Any] = {"disabled": True} if change == "disable" else {"role": "viewer"}
            answer = await web.client.patch(
                f"/api/v1/users/{user_id}", json=body, headers={"X-CSRF-Token": admin_token}
            )
        else:
            answer = await web.client.post(
                f"/admin/users/{user_id}",
                allow_redirects=False,
                data={"csrf_token": admin_token, "action": "lock"},
            )
        assert answer.status in (200, 303), await answer.text()
    for stream in streams:
        assert b"event: session.ended" in await ended(stream)
    for client in (first, second):
        assert (await client.get("/api/v1/me")).status == 401


async def test_a_key_revoked_on_the_admin_page_is_refused_at_once(
    web: WebEnv, browsers: list[Client]
) -> None:
    bearer = web.bearer("operator")
    assert (await web.client.get("/api/v1/messages", headers=bearer)).status == 200  # cached
    stream = await open_stream(web.client, **bearer)
    async with web.db.read() as conn:
        key_id = (
            await conn.execute(select(api_keys.c.id).where(api_keys.c.name == "operator-key"))
        ).scalar_one()
    admin = browsers[0]
    token = await signed_in(admin, "admin")
    revoked = await admin.post(
        f"/admin/api-keys/{key_id}/revoke", data={"csrf_token": token}, allow_redirects=False
    )
    assert revoked.status == 303
    assert (await web.client.get("/api/v1/messages", headers=bearer)).status == 401
    assert b"event: session.ended" in await ended(stream)


async def test_a_revoked_account_ends_its_keys_and_their_streams_at_once(
    web: WebEnv, browsers: list[Client]
) -> None:
    admin = browsers[0]
    token = await signed_in(admin, "admin")
    made = await admin.post(
        "/api/v1/accounts", json={"name": "erp"}, headers={"X-CSRF-Token": token}
    )
    account_id = (await made.json())["id"]
    key = await admin.post(
        "/api/v1/api-keys",
        json={"name": "erp-key", "role": "viewer", "account_id": account_id},
        headers={"X-CSRF-Token": token},
    )
    bearer = {"Authorization": f"Bearer {(await key.json())['key']}"}
    assert (await web.client.get("/api/v1/messages", headers=bearer)).status == 200  # cached
    stream = await open_stream(web.client, **bearer)

    revoked = await admin.post(
        f"/admin/accounts/{account_id}/revoke", data={"csrf_token": token}, allow_redirects=False
    )
    assert revoked.status == 303
    assert (await web.client.get("/api/v1/messages", headers=bearer)).status == 401
    assert b"event: session.ended" in await ended(stream)
    assert (await web.client.get("/api/v1/messages", headers=web.bearer("viewer"))).status == 200


async def test_streams_of_closed_tabs_do_not_count_against_the_cap(web: WebEnv) -> None:
    """Reloading pages quickly: each closed stream leaves room at once, not at its next wake."""
    await signed_in(web.client, "viewer")
    limit = web.app[OPTIONS].live_streams_per_user
    for _ in range(limit):
        (await open_stream(web.client)).close()
    streams = []
    for _ in range(limit):
        answer = await web.client.get("/events")
        assert answer.status == 200, await answer.text()
        streams.append(answer)
    for stream in streams:
        stream.close()


async def test_live_streams_per_user_are_capped(web: WebEnv) -> None:
    await signed_in(web.client, "viewer")
    limit = web.app[OPTIONS].live_streams_per_user
    streams = [await open_stream(web.client) for _ in range(limit)]
    refused = await web.client.get("/events")
    assert refused.status == 429
    assert (await refused.json())["error"]["code"] == "too_many_streams"
    streams.pop().close()

    async def reopened() -> bool:
        answer = await web.client.get("/events")
        if answer.status == 200:
            streams.append(answer)
            return True
        return False

    await eventually(reopened, timeout=5, what="a stream once another closed")
    for stream in streams:
        stream.close()
