"""Password flows: changing one's own password on /account, an admin's reset (generated, shown
once, must change), and the gate that keeps a user on a temporary password away from
everything but the password form."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application, Request
from sqlalchemy import select, update

from gatewayd.store import audit_log, users
from tests.integration.web.conftest import PASSWORD, WebEnv, csrf_from, login
from webui.auth.passwords import verify_password

NEW_PASSWORD = "a brand new passphrase"


def second_client(web: WebEnv) -> TestClient[Request, Application]:
    """Another browser on the same server, with its own cookies."""
    server: TestServer = web.client.server  # type: ignore[assignment]
    return TestClient(server, cookie_jar=CookieJar(unsafe=True))


async def _must_change(web: WebEnv, username: str) -> None:
    async with web.db.begin() as conn:
        await conn.execute(
            update(users).where(users.c.username == username).values(must_change_password=True)
        )


async def _user(web: WebEnv, username: str) -> Any:
    async with web.db.read() as conn:
        return (await conn.execute(select(users).where(users.c.username == username))).one()


async def _actions(web: WebEnv) -> list[tuple[str, str]]:
    async with web.db.read() as conn:
        rows = await conn.execute(select(audit_log.c.actor, audit_log.c.action))
        return [(row.actor, row.action) for row in rows]


async def _change(
    client: TestClient[Any, Any],
    current: str,
    new: str,
    confirm: str | None = None,
    next_page: str = "",
) -> Any:
    page = await client.get("/account")
    assert page.status == 200
    token = csrf_from(await page.text())
    return await client.post(
        "/account",
        data={
            "csrf_token": token,
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
            "next": next_page,
        },
        allow_redirects=False,
    )


async def test_a_user_changes_their_own_password_and_other_sessions_end(web: WebEnv) -> None:
    elsewhere = second_client(web)
    await elsewhere.start_server()
    try:
        assert (await login(elsewhere, "operator")).status == 303
        assert (await login(web.client, "operator")).status == 303
        response = await _change(web.client, PASSWORD, NEW_PASSWORD)
        assert response.status == 303
        assert response.headers["Location"] == "/account"
        page = await web.client.get("/account")
        assert page.status == 200
        assert "Your password was changed" in await page.text()
        stale = await elsewhere.get("/", allow_redirects=False)
        assert stale.status == 302 and stale.headers["Location"].startswith("/login")
    finally:
        await elsewhere.close()
    row = await _user(web, "operator")
    assert verify_password(row.password_hash, NEW_PASSWORD)
    assert row.password_hash.startswith("$argon2id$")
    assert ("user:operator", "user.password") in await _actions(web)


async def test_wrong_current_password_mismatch_and_weak_passwords_are_refused(
    web: WebEnv,
) -> None:
    await login(web.client, "viewer")
    cases = [
        ("not my password", NEW_PASSWORD, None, "current password is wrong"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "confirmation differ"),
        (PASSWORD, "short", None, "at least 10 characters"),
        (PASSWORD, PASSWORD, None, "different from the current one"),
    ]
    for current, new, confirm, words in cases:
        response = await _change(web.client, current, new, confirm)
        assert response.status == 422, words
        assert words in await response.text()
    row = await _user(web, "viewer")
    assert verify_password(row.password_hash, PASSWORD)
    assert ("user:viewer", "user.password.failed") in await _actions(web)


async def test_a_user_on_a_temporary_password_is_held_at_the_password_form(web: WebEnv) -> None:
    await _must_change(web, "operator")
    assert (await login(web.client, "operator")).status == 303
    for path in ("/", "/outbox?status=failed", "/compose"):
        blocked = await web.client.get(path, allow_redirects=False)
        assert blocked.status == 303, path
        assert blocked.headers["Location"].startswith("/account"), path
    held = await web.client.get("/outbox", allow_redirects=False)
    assert unquote(held.headers["Location"]) == "/account?next=/outbox"
    api = await web.client.get("/api/v1/messages")
    assert api.status == 403
    assert (await api.json())["error"]["code"] == "password_change_required"
    assert (await web.client.get("/api/v1/me")).status == 200
    assert (await web.client.get("/static/css/app.css")).status == 200
    keyed = await web.client.get("/api/v1/messages", headers=web.bearer("operator"))
    assert keyed.status == 200
    form = await web.client.get("/account")
    html = await form.text()
    assert "Choose your own to continue" in html
    assert 'class="sidebar"' not in html
    done = await _change(web.client, PASSWORD, NEW_PASSWORD, next_page="/outbox")
    assert done.status == 303 and done.headers["Location"] == "/outbox"
    assert (await web.client.get("/outbox", allow_redirects=False)).status == 200
    assert not (await _user(web, "operator")).must_change_password


async def test_logout_stays_reachable_on_a_temporary_password(web: WebEnv) -> None:
    await _must_change(web, "viewer")
    await login(web.client, "viewer")
    token = csrf_from(await (await web.client.get("/account")).text())
    out = await web.client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/login"


async def test_an_admin_resets_a_password_shown_once(web: WebEnv) -> None:
    target = await _user(web, "viewer")
    victim = second_client(web)
    await victim.start_server()
    try:
        await login(victim, "viewer")
        await login(web.client, "admin")
        page = await web.client.get("/admin/users")
        assert "Reset password" in await page.text()
        token = csrf_from(await page.text())
        reset = await web.client.post(
            f"/admin/users/{target.id}",
            data={"csrf_token": token, "action": "reset_password"},
            allow_redirects=False,
        )
        assert reset.status == 200
        shown = re.search(
            r'<code class="secret" id="new-password">([^<]+)</code>', await reset.text()
        )
        assert shown is not None
        temporary = shown.group(1)
        assert (await victim.get("/", allow_redirects=False)).status == 302
        again = await web.client.get("/admin/users")
        assert temporary not in await again.text()
    finally:
        await victim.close()
    row = await _user(web, "viewer")
    assert row.must_change_password
    assert verify_password(row.password_hash, temporary)
    assert ("user:admin", "user.password_reset") in await _actions(web)


async def test_an_admin_cannot_reset_their_own_password_from_the_user_list(web: WebEnv) -> None:
    me = await _user(web, "admin")
    await login(web.client, "admin")
    token = csrf_from(await (await web.client.get("/admin/users")).text())
    response = await web.client.post(
        f"/admin/users/{me.id}",
        data={"csrf_token": token, "action": "reset_password"},
        allow_redirects=False,
    )
    assert response.status == 303
    row = await _user(web, "admin")
    assert not row.must_change_password
    assert verify_password(row.password_hash, PASSWORD)


async def test_the_api_password_change_clears_the_gate(web: WebEnv) -> None:
    await _must_change(web, "operator")
    await login(web.client, "operator")
    me = await (await web.client.get("/api/v1/me")).json()
    response = await web.client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={"X-CSRF-Token": me["csrf_token"]},
    )
    assert response.status == 200
    assert not (await _user(web, "operator")).must_change_password
