"""The remaining endpoints: inbox, modems and USSD, health, metrics, OpenAPI, admin work,
slow-request logging and a dead database."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import insert, select

from gatewayd.commands import open_sealed, seal_event
from gatewayd.config import Settings
from gatewayd.events import (
    COMMAND_KINDS,
    COMMANDS,
    CommandAnswer,
    UssdCommand,
    reply_channel,
)
from gatewayd.store import audit_log, incoming_messages, modems, utc_now
from tests.integration.web.conftest import WebEnv, login
from webui.keys import BUS, OPTIONS
from webui.options import WebOptions, options_from_settings


@pytest.fixture
def web_options() -> Any:
    def make(settings: Settings) -> WebOptions:
        return options_from_settings(settings, run_dispatcher=False, command_timeout=0.5)

    return make


async def add_modem(web: WebEnv, name: str = "m0") -> None:
    async with web.db.begin() as conn:
        await conn.execute(
            insert(modems).values(
                name=name,
                host="h1",
                device="/dev/x",
                state="online",
                signal_dbm=-71,
                operator="Vivo",
                registration="home",
                last_seen=utc_now(),
                imei="1",
                imsi="2",
            )
        )


async def test_inbox_pages_newest_first(web: WebEnv) -> None:
    async with web.db.begin() as conn:
        for i in range(7):
            await conn.execute(
                insert(incoming_messages).values(
                    sender=f"+551190000{i:04d}",
                    text=f"msg {i}",
                    modem="m0",
                    received_at=utc_now(),
                    dedupe_key=f"d{i}",
                )
            )
    first = await (
        await web.client.get("/api/v1/inbox?limit=4", headers=web.bearer("viewer"))
    ).json()
    assert [m["text"] for m in first["messages"]] == ["msg 6", "msg 5", "msg 4", "msg 3"]
    rest = await (
        await web.client.get(
            f"/api/v1/inbox?limit=4&cursor={first['next_cursor']}", headers=web.bearer("viewer")
        )
    ).json()
    assert [m["text"] for m in rest["messages"]] == ["msg 2", "msg 1", "msg 0"]
    assert rest["next_cursor"] is None
    assert set(first["messages"][0]) == {"id", "from", "text", "modem", "received_at", "read"}


async def test_modems_and_health_with_a_fresh_gateway(web: WebEnv) -> None:
    await add_modem(web)
    body = await (await web.client.get("/api/v1/modems", headers=web.bearer("viewer"))).json()
    modem = body["modems"][0]
    assert (modem["name"], modem["state"], modem["signal"]) == ("m0", "online", -71)
    health = await (await web.client.get("/api/health")).json()
    assert health["status"] == "ok" and health["checks"]["gateway"] == "ok"


async def test_ussd_goes_to_gatewayd_and_back(web: WebEnv) -> None:
    await add_modem(web)
    bus = web.app[BUS]
    commands = bus.subscribe(COMMANDS)

    key = web.app[OPTIONS].command_key

    async def fake_gatewayd() -> None:
        sealed = await commands.get(5)
        assert sealed is not None
        nonce, command = open_sealed(key, sealed, COMMAND_KINDS)
        assert isinstance(command, UssdCommand) and command.code == "*100#"
        answer = CommandAnswer(in_reply_to=nonce, ok=True, text="Saldo R$ 10,00")
        await bus.publish(reply_channel(command.reply_to), seal_event(key, answer))

    responder = asyncio.create_task(fake_gatewayd())
    response = await web.client.post(
        "/api/v1/modems/m0/ussd", json={"code": "*100#"}, headers=web.bearer("operator")
    )
    await responder
    assert response.status == 200
    assert (await response.json())["text"] == "Saldo R$ 10,00"
    silent = await web.client.post(
        "/api/v1/modems/m0/ussd", json={"code": "*100#"}, headers=web.bearer("operator")
    )
    assert silent.status == 504
    assert (await silent.json())["error"]["code"] == "gateway_timeout"
    unknown = await web.client.post(
        "/api/v1/modems/zz/ussd", json={"code": "*100#"}, headers=web.bearer("operator")
    )
    assert unknown.status == 404
    bad = await web.client.post(
        "/api/v1/modems/m0/ussd", json={"code": "rm -rf"}, headers=web.bearer("operator")
    )
    assert bad.status == 422


async def test_metrics_json_and_prometheus(web: WebEnv) -> None:
    await add_modem(web)
    await web.client.post(
        "/api/v1/messages",
        json={"to": "+5511987654321", "text": "x"},
        headers=web.bearer("operator"),
    )
    data = await (await web.client.get("/api/metrics")).json()  # 127.0.0.1 is allowed
    assert data["queue"]["depth"] == 1
    assert data["requests"]["requests"] >= 1
    assert data["modems"][0]["signal"] == -71
    text = await (await web.client.get("/metrics")).text()
    assert "smsgw_queue_depth 1.0" in text
    assert 'smsgw_modem_signal_dbm{modem="m0"} -71.0' in text
    assert "smsgw_http_request_duration_seconds_bucket" in text


async def test_openapi_document(web: WebEnv) -> None:
    doc = await (await web.client.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    send = doc["paths"]["/api/v1/messages"]["post"]
    assert send["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "SendRequest"
    )
    schema = doc["components"]["schemas"]["SendRequest"]
    assert schema["additionalProperties"] is False


async def test_admin_creates_key_and_user_with_audit(web: WebEnv) -> None:
    await login(web.client, "admin")
    token = (await (await web.client.get("/api/v1/me")).json())["csrf_token"]
    csrf = {"X-CSRF-Token": token}
    no_token = await web.client.post("/api/v1/api-keys", json={"name": "erp", "role": "viewer"})
    assert no_token.status == 403
    created = await web.client.post(
        "/api/v1/api-keys", json={"name": "erp", "role": "viewer"}, headers=csrf
    )
    key = await created.json()
    assert created.status == 201 and key["key"].startswith(key["prefix"])
    works = await web.client.get(
        "/api/v1/messages", headers={"Authorization": f"Bearer {key['key']}"}
    )
    assert works.status == 200
    revoked = await web.client.post(f"/api/v1/api-keys/{key['id']}/revoke", headers=csrf)
    assert (await revoked.json())["revoked_at"] is not None
    dead = await web.client.get(
        "/api/v1/messages", headers={"Authorization": f"Bearer {key['key']}"}
    )
    assert dead.status == 401
    user = await web.client.post(
        "/api/v1/users", json={"username": "ana", "role": "operator"}, headers=csrf
    )
    assert user.status == 201 and len((await user.json())["password"]) >= 10
    async with web.db.read() as conn:
        actions = [row.action for row in await conn.execute(select(audit_log))]
    assert {"login", "api_key.create", "api_key.revoke", "user.create"} <= set(actions)


async def test_non_admins_get_403_on_admin_endpoints(web: WebEnv) -> None:
    for path in ("/api/v1/users", "/api/v1/api-keys", "/api/v1/audit"):
        response = await web.client.get(path, headers=web.bearer("operator"))
        assert response.status == 403, path
    await login(web.client, "viewer")
    assert (await web.client.get("/api/v1/users")).status == 403


@pytest.mark.filterwarnings("ignore:Changing state of started:DeprecationWarning")
async def test_dead_database_is_503_json(web: WebEnv) -> None:
    await web.db.close()
    from gatewayd.store import Database

    dead = Database("postgresql://nobody@127.0.0.1:1/none", connect_timeout=1)
    from webui.keys import DB

    web.app[DB] = dead
    try:
        api = await web.client.get("/api/v1/messages", headers=web.bearer("viewer"))
        assert api.status == 503
        assert (await api.json())["error"]["code"] == "database_unavailable"
        health = await web.client.get("/api/health")
        assert health.status == 503 and (await health.json())["status"] == "fail"
    finally:
        await dead.close()
