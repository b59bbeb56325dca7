"""The admin edit endpoints as an admin calls them: ``PATCH /api/v1/api-keys/{id}`` (webhook
URL, secret rotation) and ``PATCH /api/v1/users/{id}`` (role, disabled, unlock, password).
Each change is read back through the API and from the database, bad values are 422 naming the
field, and operators and viewers are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application, Request
from sqlalchemy import select, update

from gatewayd.store import api_keys, audit_log, users, utc_now
from tests.integration.web.conftest import PASSWORD, WebEnv, login
from webui.auth.passwords import verify_password

HOOK = "https://erp.lan/hooks/sms"
NEW_PASSWORD = "a temporary passphrase 7"

Client = TestClient[Request, Application]


async def as_admin(web: WebEnv) -> dict[str, str]:
    """Sign the test client in as the admin; the CSRF header its unsafe requests need."""
    assert (await login(web.client, "admin")).status == 303
    token = (await (await web.client.get("/api/v1/me")).json())["csrf_token"]
    return {"X-CSRF-Token": token}


def other_browser(web: WebEnv) -> Client:
    server: TestServer = web.client.server  # type: ignore[assignment]
    return TestClient(server, cookie_jar=CookieJar(unsafe=True))


async def key_row(web: WebEnv, key_id: int) -> Any:
    async with web.db.read() as conn:
        return (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).one()


async def user_row(web: WebEnv, username: str) -> Any:
    async with web.db.read() as conn:
        return (await conn.execute(select(users).where(users.c.username == username))).one()


async def audit(web: WebEnv, action: str) -> list[Any]:
    async with web.db.read() as conn:
        query = select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)
        return list((await conn.execute(query)).all())


async def listed_key(web: WebEnv, key_id: int) -> dict[str, Any]:
    body = await (await web.client.get("/api/v1/api-keys")).json()
    (found,) = [key for key in body["api_keys"] if key["id"] == key_id]
    return dict(found)


async def listed_user(web: WebEnv, username: str) -> dict[str, Any]:
    body = await (await web.client.get("/api/v1/users")).json()
    (found,) = [user for user in body["users"] if user["username"] == username]
    return dict(found)


async def patch(web: WebEnv, path: str, body: Any, csrf: dict[str, str]) -> tuple[int, Any]:
    response = await web.client.patch(path, json=body, headers=csrf)
    return response.status, await response.json()


# ---- API keys ----


async def test_admin_sets_changes_and_clears_a_keys_webhook(web: WebEnv) -> None:
    csrf = await as_admin(web)
    created = await web.client.post(
        "/api/v1/api-keys", json={"name": "erp", "role": "operator"}, headers=csrf
    )
    key = await created.json()
    assert created.status == 201 and key["webhook_url"] is None
    secret_before = (await key_row(web, key["id"])).webhook_secret

    status, body = await patch(web, f"/api/v1/api-keys/{key['id']}", {"webhook_url": HOOK}, csrf)
    assert status == 200
    assert body["webhook_url"] == HOOK and "webhook_secret" not in body
    assert (await listed_key(web, key["id"]))["webhook_url"] == HOOK
    row = await key_row(web, key["id"])
    assert (row.webhook_url, row.webhook_secret) == (HOOK, secret_before)

    other = "https://sms.example.net/hook"  # a LAN address would need webhook_allow
    status, body = await patch(
        web, f"/api/v1/api-keys/{key['id']}", {"webhook_url": f"  {other} "}, csrf
    )
    assert (status, body["webhook_url"]) == (200, other)
    assert (await key_row(web, key["id"])).webhook_url == other

    status, body = await patch(web, f"/api/v1/api-keys/{key['id']}", {"webhook_url": None}, csrf)
    assert (status, body["webhook_url"]) == (200, None)
    assert (await listed_key(web, key["id"]))["webhook_url"] is None

    entries = await audit(web, "api_key.webhook")
    assert [entry.detail["webhook_url"] for entry in entries] == [HOOK, other, None]
    assert {entry.actor for entry in entries} == {"user:admin"}
    assert {entry.target for entry in entries} == {f"api_key:{key['id']}"}


async def test_rotating_a_keys_secret_returns_the_new_one_and_keeps_its_webhook(
    web: WebEnv,
) -> None:
    csrf = await as_admin(web)
    created = await web.client.post(
        "/api/v1/api-keys",
        json={"name": "crm", "role": "viewer", "webhook_url": HOOK},
        headers=csrf,
    )
    key = await created.json()
    first_secret = key["webhook_secret"]
    assert (await key_row(web, key["id"])).webhook_secret == first_secret

    status, body = await patch(
        web, f"/api/v1/api-keys/{key['id']}", {"rotate_webhook_secret": True}, csrf
    )
    assert status == 200
    new_secret = body["webhook_secret"]
    assert len(new_secret) >= 32 and new_secret != first_secret
    row = await key_row(web, key["id"])
    assert row.webhook_secret == new_secret
    # Only the secret was asked for: the webhook it signs for stays where it was.
    assert body["webhook_url"] == HOOK and row.webhook_url == HOOK
    assert (await listed_key(web, key["id"]))["webhook_url"] == HOOK
    (entry,) = await audit(web, "api_key.webhook")
    assert entry.detail == {"webhook_url": HOOK, "secret_rotated": True}

    # The rotated key still authenticates: the secret signs webhooks, it is not the key.
    works = await web.client.get(
        "/api/v1/messages", headers={"Authorization": f"Bearer {key['key']}"}
    )
    assert works.status == 200


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"webhook_url": "ftp://erp.lan/x"}, "invalid_url", "webhook_url"),
        ({"webhook_url": "https://"}, "invalid_url", "webhook_url"),
        ({"webhook_url": "https://erp.lan/a b"}, "invalid_url", "webhook_url"),
        ({"webhook_url": ""}, "invalid_value", "webhook_url"),
        ({"webhook_url": 42}, "wrong_type", "webhook_url"),
        ({"rotate_webhook_secret": "yes"}, "wrong_type", "rotate_webhook_secret"),
        ({"role": "admin"}, "unknown_field", "role"),
        ({"name": "renamed"}, "unknown_field", "name"),
    ],
)
async def test_bad_key_edits_are_422_and_change_nothing(
    web: WebEnv, body: dict[str, Any], code: str, field: str
) -> None:
    csrf = await as_admin(web)
    created = await web.client.post(
        "/api/v1/api-keys",
        json={"name": "erp", "role": "operator", "webhook_url": HOOK},
        headers=csrf,
    )
    key = await created.json()
    status, answer = await patch(web, f"/api/v1/api-keys/{key['id']}", body, csrf)
    assert status == 422, answer
    assert (answer["error"]["code"], answer["error"]["field"]) == (code, field)
    row = await key_row(web, key["id"])
    assert (row.name, row.role, row.webhook_url) == ("erp", "operator", HOOK)
    assert row.webhook_secret == key["webhook_secret"]
    assert await audit(web, "api_key.webhook") == []


async def test_editing_a_key_that_does_not_exist_is_404(web: WebEnv) -> None:
    csrf = await as_admin(web)
    for key_id in ("999999", "0", "abc", str(2**70)):
        status, body = await patch(web, f"/api/v1/api-keys/{key_id}", {"webhook_url": HOOK}, csrf)
        assert (status, body["error"]["code"]) == (404, "not_found"), key_id


# ---- users ----


async def test_admin_changes_a_users_role_and_their_session_follows(web: WebEnv) -> None:
    csrf = await as_admin(web)
    target = await user_row(web, "operator")
    elsewhere = other_browser(web)
    await elsewhere.start_server()
    try:
        assert (await login(elsewhere, "operator")).status == 303
        me = await (await elsewhere.get("/api/v1/me")).json()
        assert me["role"] == "operator"

        status, body = await patch(web, f"/api/v1/users/{target.id}", {"role": "viewer"}, csrf)
        assert (status, body["role"], body["username"]) == (200, "viewer", "operator")
        assert (await user_row(web, "operator")).role == "viewer"
        assert (await listed_user(web, "operator"))["role"] == "viewer"
        # A new role ends the user's sessions; signed in again, they are a viewer: no sending.
        assert (await elsewhere.get("/api/v1/me")).status == 401
        assert (await login(elsewhere, "operator")).status == 303
        assert (await (await elsewhere.get("/api/v1/me")).json())["role"] == "viewer"
        assert (await elsewhere.get("/compose")).status == 403

        status, body = await patch(web, f"/api/v1/users/{target.id}", {"role": "admin"}, csrf)
        assert (status, body["role"]) == (200, "admin")
        assert (await login(elsewhere, "operator")).status == 303
        assert (await elsewhere.get("/api/v1/users")).status == 200
    finally:
        await elsewhere.close()
    entries = await audit(web, "user.update")
    assert [entry.detail for entry in entries] == [
        {"role": "viewer", "unlock": False},
        {"role": "admin", "unlock": False},
    ]
    assert {entry.target for entry in entries} == {"operator"}


async def test_admin_disables_then_enables_a_user(web: WebEnv) -> None:
    csrf = await as_admin(web)
    target = await user_row(web, "viewer")
    elsewhere = other_browser(web)
    await elsewhere.start_server()
    try:
        assert (await login(elsewhere, "viewer")).status == 303
        assert (await elsewhere.get("/api/v1/me")).status == 200

        status, body = await patch(web, f"/api/v1/users/{target.id}", {"disabled": True}, csrf)
        assert (status, body["disabled"]) == (200, True)
        assert (await user_row(web, "viewer")).disabled_at is not None
        assert (await listed_user(web, "viewer"))["disabled"] is True
        # The open session ends at once and signing in again is refused.
        assert (await elsewhere.get("/api/v1/me")).status == 401
        await login(elsewhere, "viewer")
        assert (await elsewhere.get("/api/v1/me")).status == 401

        status, body = await patch(web, f"/api/v1/users/{target.id}", {"disabled": False}, csrf)
        assert (status, body["disabled"]) == (200, False)
        assert (await user_row(web, "viewer")).disabled_at is None
        assert (await login(elsewhere, "viewer")).status == 303
        assert (await (await elsewhere.get("/api/v1/me")).json())["name"] == "viewer"
    finally:
        await elsewhere.close()


async def test_admin_unlocks_a_locked_user(web: WebEnv) -> None:
    csrf = await as_admin(web)
    until = utc_now() + timedelta(hours=1)
    async with web.db.begin() as conn:
        await conn.execute(
            update(users)
            .where(users.c.username == "operator")
            .values(locked_until=until, failed_logins=5)
        )
    target = await user_row(web, "operator")
    assert (await listed_user(web, "operator"))["locked_until"] is not None
    elsewhere = other_browser(web)
    await elsewhere.start_server()
    try:
        await login(elsewhere, "operator")
        assert (await elsewhere.get("/api/v1/me")).status == 401  # locked: not signed in

        status, body = await patch(web, f"/api/v1/users/{target.id}", {"unlock": True}, csrf)
        assert (status, body["locked_until"]) == (200, None)
        row = await user_row(web, "operator")
        assert (row.locked_until, row.failed_logins) == (None, 0)
        assert (await listed_user(web, "operator"))["locked_until"] is None
        assert (await login(elsewhere, "operator")).status == 303
        assert (await (await elsewhere.get("/api/v1/me")).json())["name"] == "operator"
    finally:
        await elsewhere.close()


async def test_admin_sets_a_temporary_password(web: WebEnv) -> None:
    csrf = await as_admin(web)
    target = await user_row(web, "operator")
    elsewhere = other_browser(web)
    await elsewhere.start_server()
    try:
        assert (await login(elsewhere, "operator")).status == 303
        status, body = await patch(
            web, f"/api/v1/users/{target.id}", {"password": NEW_PASSWORD}, csrf
        )
        assert (status, body["must_change_password"]) == (200, True)
        assert "password" not in body
        row = await user_row(web, "operator")
        assert verify_password(row.password_hash, NEW_PASSWORD)
        assert not verify_password(row.password_hash, PASSWORD)
        assert row.must_change_password
        # Sessions opened with the old password end; the new one signs in.
        assert (await elsewhere.get("/api/v1/me")).status == 401
        assert (await login(elsewhere, "operator", NEW_PASSWORD)).status == 303
        me = await elsewhere.get("/api/v1/me")
        assert (await me.json())["name"] == "operator"
    finally:
        await elsewhere.close()
    (entry,) = await audit(web, "user.update")
    assert entry.detail == {"password_reset": True, "unlock": False}
    assert NEW_PASSWORD not in str(entry.detail)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"role": "root"}, 422, "invalid_value", "role"),
        ({"role": None, "disabled": "yes"}, 422, "wrong_type", "disabled"),
        ({"unlock": 1}, 422, "wrong_type", "unlock"),
        ({"password": "short"}, 422, "invalid_value", "password"),
        ({"role": "viewer", "password": " padded password "}, 422, "weak_password", "password"),
        ({"username": "renamed"}, 422, "unknown_field", "username"),
    ],
)
async def test_bad_user_edits_are_refused_and_change_nothing(
    web: WebEnv, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    csrf = await as_admin(web)
    before = await user_row(web, "operator")
    got, answer = await patch(web, f"/api/v1/users/{before.id}", body, csrf)
    assert (got, answer["error"]["code"], answer["error"]["field"]) == (status, code, field)
    after = await user_row(web, "operator")
    assert (after.role, after.disabled_at, after.password_hash) == (
        "operator",
        None,
        before.password_hash,
    )
    assert await audit(web, "user.update") == []


async def test_an_admin_cannot_demote_or_disable_themselves(web: WebEnv) -> None:
    csrf = await as_admin(web)
    me = await user_row(web, "admin")
    for body in ({"role": "operator"}, {"role": "viewer"}, {"disabled": True}):
        status, answer = await patch(web, f"/api/v1/users/{me.id}", body, csrf)
        assert (status, answer["error"]["code"]) == (409, "self_lockout"), body
    row = await user_row(web, "admin")
    assert (row.role, row.disabled_at) == ("admin", None)
    # Keeping one's own role, or unlocking oneself, is harmless.
    status, answer = await patch(web, f"/api/v1/users/{me.id}", {"role": "admin"}, csrf)
    assert (status, answer["role"]) == (200, "admin")


async def test_editing_a_user_that_does_not_exist_is_404(web: WebEnv) -> None:
    csrf = await as_admin(web)
    for user_id in ("999999", "-1", "x", str(2**70)):
        status, body = await patch(web, f"/api/v1/users/{user_id}", {"role": "viewer"}, csrf)
        assert (status, body["error"]["code"]) == (404, "not_found"), user_id


# ---- who may edit ----


async def test_operators_and_viewers_may_not_edit_keys_or_users(web: WebEnv) -> None:
    target = await user_row(web, "viewer")
    async with web.db.read() as conn:
        key_id = (await conn.execute(select(api_keys.c.id).order_by(api_keys.c.id))).scalar()
    edits = [
        (f"/api/v1/api-keys/{key_id}", {"rotate_webhook_secret": True}),
        (f"/api/v1/users/{target.id}", {"role": "admin"}),
    ]
    for role in ("operator", "viewer"):
        for path, body in edits:
            response = await web.client.patch(path, json=body, headers=web.bearer(role))
            assert response.status == 403, (role, path)
            assert (await response.json())["error"]["code"] == "forbidden"
    browsers = [other_browser(web), other_browser(web)]  # closing one stops the shared server
    try:
        for browser, username in zip(browsers, ("operator", "viewer"), strict=True):
            await browser.start_server()
            assert (await login(browser, username)).status == 303
            token = (await (await browser.get("/api/v1/me")).json())["csrf_token"]
            for path, body in edits:
                response = await browser.patch(path, json=body, headers={"X-CSRF-Token": token})
                assert response.status == 403, (username, path)
    finally:
        for browser in browsers:
            await browser.close()
    assert (await user_row(web, "viewer")).role == "viewer"
    assert await audit(web, "user.update") == [] and await audit(web, "api_key.webhook") == []


async def test_an_edit_without_the_csrf_header_is_refused(web: WebEnv) -> None:
    await as_admin(web)
    target = await user_row(web, "operator")
    response = await web.client.patch(f"/api/v1/users/{target.id}", json={"role": "viewer"})
    assert response.status == 403
    assert (await user_row(web, "operator")).role == "operator"
