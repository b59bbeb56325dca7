"""Client accounts through the HTTP API: admins manage them (operators, viewers and API keys
are refused), an API key sends as its account (throughput limit → 429 ``rate_limited`` with
``Retry-After``; quota → 429 ``quota_exceeded`` with ``Retry-After`` until the period resets;
an address outside its networks → 403 ``network_not_allowed``; a revoked account → 401), the
Kannel endpoint answers the same refusals in its own words, and no answer ever carries an SMPP
password or its hash."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from gatewayd.store import accounts, audit_log, messages
from tests.integration.web.conftest import WebEnv, csrf_from, login

NUMBER = "+5511987654321"


async def as_admin(web: WebEnv) -> dict[str, str]:
    assert (await login(web.client, "admin")).status == 303
    token = (await (await web.client.get("/api/v1/me")).json())["csrf_token"]
    return {"X-CSRF-Token": token}


async def new_account(web: WebEnv, admin: dict[str, str], **fields: Any) -> dict[str, Any]:
    answer = await web.client.post("/api/v1/accounts", json=fields, headers=admin)
    assert answer.status == 201, await answer.text()
    body: dict[str, Any] = await answer.json()
    return body


async def key_of(web: WebEnv, admin: dict[str, str], account_id: int, name: str) -> str:
    answer = await web.client.post(
        "/api/v1/api-keys",
        json={"name": name, "role": "operator", "account_id": account_id},
        headers=admin,
    )
    assert answer.status == 201, await answer.text()
    body = await answer.json()
    assert body["account_id"] == account_id
    return str(body["key"])


async def send(web: WebEnv, key: str, to: Any = NUMBER) -> Any:
    return await web.client.post(
        "/api/v1/messages",
        json={"to": to, "text": "hello"},
        headers={"Authorization": f"Bearer {key}"},
    )


async def test_admin_creates_reads_changes_and_revokes_an_account(web: WebEnv) -> None:
    admin = await as_admin(web)
    created = await new_account(
        web,
        admin,
        name="ERP",
        system_id="erp01",
        smpp_password="s3cret",
        tps=5,
        daily_quota=100,
        allowed_networks=["192.168.10.7/24"],
        allowed_modems=["gsm1"],
        incoming_modems=["gsm1"],
        incoming_as_parts=True,
    )
    assert created["allowed_networks"] == ["192.168.10.0/24"]
    assert created["smpp_enabled"] is True and created["webhook_secret"]
    assert created["usage"] == {"today": 0, "this_month": 0}
    account_id = created["id"]

    twin = await web.client.post("/api/v1/accounts", json={"name": "erp"}, headers=admin)
    assert (twin.status, (await twin.json())["error"]["code"]) == (409, "name_taken")
    same_id = await web.client.post(
        "/api/v1/accounts", json={"name": "other", "system_id": "erp01"}, headers=admin
    )
    assert (same_id.status, (await same_id.json())["error"]["code"]) == (409, "system_id_taken")

    changed = await web.client.patch(
        f"/api/v1/accounts/{account_id}",
        json={"tps": None, "monthly_quota": 1000, "smpp_password": "n3w"},
        headers=admin,
    )
    body = await changed.json()
    assert changed.status == 200
    assert (body["tps"], body["daily_quota"], body["monthly_quota"]) == (None, 100, 1000)
    assert "webhook_secret" not in body

    listed = await (await web.client.get("/api/v1/accounts")).json()
    assert {a["name"] for a in listed["accounts"]} == {"default", "ERP"}

    revoked = await web.client.post(f"/api/v1/accounts/{account_id}/revoke", headers=admin)
    assert revoked.status == 200 and (await revoked.json())["revoked_at"] is not None
    again = await web.client.patch(f"/api/v1/accounts/{account_id}", json={"tps": 1}, headers=admin)
    assert again.status == 409

    async with web.db.read() as conn:
        actions = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.detail).where(
                    audit_log.c.target == f"account:{account_id}"
                )
            )
        ).all()
        stored = (
            await conn.execute(
                select(accounts.c.smpp_password_hash).where(accounts.c.id == account_id)
            )
        ).scalar_one()
    assert [a.action for a in actions] == ["account.create", "account.update", "account.revoke"]
    assert actions[1].detail["smpp_password"] == "set"
    page = str(listed) + str(body) + str(created) + str([a.detail for a in actions])
    assert stored.startswith("$argon2") and stored not in page and "n3w" not in page


async def test_bad_values_are_refused_naming_the_field(web: WebEnv) -> None:
    admin = await as_admin(web)
    cases = [
        ({"name": "x", "smpp_password": "123456789"}, "smpp_password"),
        ({"name": "x", "system_id": "a" * 16}, "system_id"),
        ({"name": "x", "allowed_networks": ["10.0.0.0/33"]}, "allowed_networks.0"),
        ({"name": "x", "tps": 0}, "tps"),
        ({"name": "x", "daily_quota": -1}, "daily_quota"),
        ({"name": "has space"}, "name"),
        ({"name": "x", "allowed_modems": ["bad name!"]}, "allowed_modems.0"),
        ({"name": "x", "tps": 0.0001}, "tps"),
    ]
    for fields, field in cases:
        answer = await web.client.post("/api/v1/accounts", json=fields, headers=admin)
        error = (await answer.json())["error"]
        assert (answer.status, error.get("field")) == (422, field), fields


async def test_only_admins_see_or_touch_accounts(web: WebEnv) -> None:
    for role in ("operator", "viewer"):
        for method, path in (
            ("GET", "/api/v1/accounts"),
            ("POST", "/api/v1/accounts"),
            ("GET", "/api/v1/accounts/1"),
            ("PATCH", "/api/v1/accounts/1"),
            ("POST", "/api/v1/accounts/1/revoke"),
        ):
            answer = await web.client.request(
                method, path, json={"name": "x"}, headers=web.bearer(role)
            )
            assert answer.status == 403, (role, method, path)
    for role in ("operator", "viewer"):
        web.client.session.cookie_jar.clear()
        assert (await login(web.client, role)).status == 303
        assert (await web.client.get("/api/v1/accounts")).status == 403
        assert (await web.client.get("/admin/accounts")).status == 403
        assert (await web.client.get("/admin/accounts/1")).status == 403


async def test_over_the_throughput_limit_is_429_with_retry_after(web: WebEnv) -> None:
    admin = await as_admin(web)
    account = await new_account(web, admin, name="slow", tps=1)
    key = await key_of(web, admin, account["id"], "slow-key")

    assert (await send(web, key)).status == 202
    refused = await send(web, key)
    error = (await refused.json())["error"]
    assert (refused.status, error["code"]) == (429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1
    assert (await send(web, web.keys["operator"])).status == 202  # default account: no limit


async def test_over_quota_is_429_quota_exceeded_until_the_period_resets(web: WebEnv) -> None:
    admin = await as_admin(web)
    account = await new_account(web, admin, name="small", daily_quota=3)
    key = await key_of(web, admin, account["id"], "small-key")

    assert (await send(web, key, [NUMBER, "+5511987654322"])).status == 202
    refused = await send(web, key, [NUMBER, "+5511987654323"])
    error = (await refused.json())["error"]
    assert (refused.status, error["code"], error["period"]) == (429, "quota_exceeded", "day")
    assert error["remaining"] == 1
    assert 1 <= int(refused.headers["Retry-After"]) <= 86_400
    assert (await send(web, key)).status == 202
    shown = await (await web.client.get(f"/api/v1/accounts/{account['id']}")).json()
    assert shown["usage"] == {"today": 3, "this_month": 3}
    async with web.db.read() as conn:
        owners = (await conn.execute(select(messages.c.account_id))).scalars().all()
    assert owners == [account["id"]] * 3


async def test_networks_and_revocation_apply_to_the_keys(web: WebEnv) -> None:
    admin = await as_admin(web)
    lan = await new_account(web, admin, name="lan", allowed_networks=["10.0.0.0/8"])
    key = await key_of(web, admin, lan["id"], "lan-key")

    refused = await send(web, key)
    assert (refused.status, (await refused.json())["error"]["code"]) == (
        403,
        "network_not_allowed",
    )
    await web.client.patch(
        f"/api/v1/accounts/{lan['id']}",
        json={"allowed_networks": ["127.0.0.0/8"]},
        headers=admin,
    )
    assert (await send(web, key)).status == 202

    await web.client.post(f"/api/v1/accounts/{lan['id']}/revoke", headers=admin)
    assert (await send(web, key)).status == 401
    default = await web.client.post("/api/v1/accounts/1/revoke", headers=admin)
    assert (default.status, (await default.json())["error"]["code"]) == (409, "default_account")


async def test_modems_outside_the_account_are_refused(web: WebEnv) -> None:
    admin = await as_admin(web)
    account = await new_account(web, admin, name="pinned", allowed_modems=["gsm1"])
    key = await key_of(web, admin, account["id"], "pinned-key")
    answer = await web.client.post(
        "/api/v1/messages",
        json={"to": NUMBER, "text": "hi"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status == 202 and (await answer.json())["modem"] == "gsm1"


async def test_kannel_endpoint_answers_limits_in_its_own_words(web: WebEnv) -> None:
    admin = await as_admin(web)
    account = await new_account(web, admin, name="kannel", tps=1, daily_quota=2)
    key = await key_of(web, admin, account["id"], "kannel-key")
    form = {"username": "kannel-key", "password": key, "to": NUMBER, "text": "hi"}

    first = await web.client.post("/cgi-bin/sendsms", data=form)
    assert (first.status, await first.text()) == (202, "0: Accepted for delivery")
    throttled = await web.client.post("/cgi-bin/sendsms", data=form)
    assert throttled.status == 429 and (await throttled.text()).startswith("Throttled: ")
    assert int(throttled.headers["Retry-After"]) >= 1

    await web.client.patch(
        f"/api/v1/accounts/{account['id']}",
        json={"tps": None, "allowed_networks": ["10.0.0.0/8"]},
        headers=admin,
    )
    outside = await web.client.post("/cgi-bin/sendsms", data=form)
    assert (outside.status, await outside.text()) == (403, "Authorization failed for sendsms")
    await web.client.patch(
        f"/api/v1/accounts/{account['id']}", json={"allowed_networks": []}, headers=admin
    )
    assert (await web.client.post("/cgi-bin/sendsms", data=form)).status == 202
    over = await web.client.post("/cgi-bin/sendsms", data=form)
    assert over.status == 429 and (await over.text()).startswith("Quota exceeded: ")


async def test_admin_pages_create_edit_and_revoke(web: WebEnv) -> None:
    await as_admin(web)
    page = await web.client.get("/admin/accounts")
    html = await page.text()
    assert page.status == 200 and 'data-account="default"' in html
    token = csrf_from(html)

    made = await web.client.post(
        "/admin/accounts", data={"name": "portal", "csrf_token": token}, allow_redirects=False
    )
    assert made.status == 303
    location = made.headers["Location"]
    form = {
        "csrf_token": token,
        "name": "portal",
        "tps": "2,5",
        "daily_quota": "100",
        "monthly_quota": "",
        "allowed_networks": "10.0.0.0/8\n192.168.0.0/16",
        "allowed_modems": "gsm1, gsm2",
        "incoming_modems": "gsm1",
        "incoming_as_parts": "on",
        "system_id": "portal",
        "smpp_password": "abc12345",
        "webhook_url": "",
    }
    saved = await web.client.post(location, data=form, allow_redirects=False)
    assert saved.status == 303
    account_id = int(location.rsplit("/", 1)[1])
    shown = await (await web.client.get(f"/api/v1/accounts/{account_id}")).json()
    assert (shown["tps"], shown["daily_quota"], shown["monthly_quota"]) == (2.5, 100, None)
    assert shown["allowed_networks"] == ["10.0.0.0/8", "192.168.0.0/16"]
    assert shown["allowed_modems"] == ["gsm1", "gsm2"] and shown["incoming_as_parts"] is True
    assert shown["smpp_enabled"] is True

    too_long = await web.client.post(
        location, data={**form, "smpp_password": "123456789"}, allow_redirects=True
    )
    assert "at most 8 characters" in await too_long.text()

    edit = await (await web.client.get(location)).text()
    assert "abc12345" not in edit and "$argon2" not in edit
    revoked = await web.client.post(
        f"{location}/revoke", data={"csrf_token": token}, allow_redirects=False
    )
    assert revoked.status == 303
    assert (await (await web.client.get(f"/api/v1/accounts/{account_id}")).json())["revoked_at"]
