"""Webhooks cannot be turned against the gateway's own network (SSRF).

Callback, webhook and Kannel ``dlr-url`` URLs that point at loopback, link-local, private or
otherwise non-public addresses, or carry credentials, are refused when given; a delivery checks
the addresses its host name resolves to again, just before connecting (DNS rebinding); an
allow-listed LAN receiver still gets its webhooks, without any credentials from the URL; and
the stored error is a neutral class that does not tell an open port from a closed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import insert, select

from gatewayd.config import Settings
from gatewayd.store import utc_now
from gatewayd.store import webhook_deliveries as deliveries
from tests.integration.core_flow.harness import eventually
from tests.integration.web.conftest import WebEnv, login, make_web_env, settings_for
from tests.integration.web.test_webhooks import Receiver, fast, key_secret, mark, send_one
from tests.integration.web.test_webhooks import receiver as receiver  # the fixture
from webui.addresses import AddressPolicy
from webui.options import WebOptions

HOST_NAME = socket.gethostname()
REFUSED_AT_INPUT = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "http://api.localhost/x",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/",
    "http://192.168.0.10:8000/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fe80::1]/",
    "http://[64:ff9b::a00:1]/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://127.1/",
    f"http://{HOST_NAME}/hook",
    "https://user:secret@hooks.example.com/x",
    "https://hooks.example.com@10.0.0.1/x",
]
PUBLIC = "https://hooks.example.com/sms"


def options_allowing(*allowed: str, **extra: Any) -> Callable[[Settings], WebOptions]:
    def make(settings: Settings) -> WebOptions:
        return fast(settings, webhook_policy=AddressPolicy.parse(allowed), **extra)

    return make


@pytest.fixture
def web_options() -> Any:
    return options_allowing()


async def admin_csrf(web: WebEnv) -> dict[str, str]:
    assert (await login(web.client, "admin")).status in (302, 303)
    me = await (await web.client.get("/api/v1/me")).json()
    return {"X-CSRF-Token": me["csrf_token"]}


async def error_of(response: Any) -> dict[str, str]:
    body = await response.json()
    assert response.status == 422, body
    error: dict[str, str] = body["error"]
    return error


async def test_private_and_credential_urls_are_refused_when_given(web: WebEnv) -> None:
    csrf = await admin_csrf(web)
    key_id = (await (await web.client.get("/api/v1/api-keys")).json())["api_keys"][0]["id"]
    for url in REFUSED_AT_INPUT:
        sent = await web.client.post(
            "/api/v1/messages",
            headers=web.bearer("operator"),
            json={"to": "+5511987654321", "text": "x", "callback_url": url},
        )
        error = await error_of(sent)
        assert (error["code"], error["field"]) == ("invalid_callback_url", "callback_url"), url
        created = await web.client.post(
            "/api/v1/api-keys",
            headers=csrf,
            json={"name": "k", "role": "operator", "webhook_url": url},
        )
        assert (await error_of(created))["code"] == "invalid_url", url
        patched = await web.client.patch(
            f"/api/v1/api-keys/{key_id}", headers=csrf, json={"webhook_url": url}
        )
        assert (await error_of(patched))["code"] == "invalid_url", url
        kannel = await web.client.get(
            "/cgi-bin/sendsms",
            params={
                "username": "operator-key",
                "password": web.keys["operator"],
                "to": "+5511987654321",
                "text": "x",
                "dlr-url": url,
                "dlr-mask": "1",
            },
        )
        assert kannel.status == 400, url
        assert (await kannel.text()).startswith("Invalid dlr-url"), url
    templated_host = await web.client.get(
        "/cgi-bin/sendsms",
        params={
            "username": "operator-key",
            "password": web.keys["operator"],
            "to": "+5511987654321",
            "text": "x",
            "dlr-url": "http://%i.example.com/dlr?t=%d",
            "dlr-mask": "1",
        },
    )
    assert templated_host.status == 400
    sent = await web.client.post(
        "/api/v1/messages",
        headers=web.bearer("operator"),
        json={"to": "+5511987654321", "text": "x", "callback_url": PUBLIC},
    )
    assert sent.status == 202, await sent.text()
    private = await web.client.post(
        "/api/v1/messages",
        headers=web.bearer("operator"),
        json={"to": "+5511987654321", "text": "x", "callback_url": "http://10.1.2.3/"},
    )
    message = (await error_of(private))["message"]
    assert "10.1.2.3 is a private address" in message and "webhook_allow" in message


async def stored(web: WebEnv, url: str) -> int:
    async with web.db.begin() as conn:
        result = await conn.execute(
            insert(deliveries)
            .values(
                event="message.status",
                url=url,
                payload={"event": "message.status"},
                created_at=utc_now(),
                next_attempt_at=utc_now(),
            )
            .returning(deliveries.c.id)
        )
        return int(result.scalar_one())


async def tried(web: WebEnv, delivery_id: int) -> Any:
    async def attempted() -> Any:
        async with web.db.read() as conn:
            row = (
                await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))
            ).one()
        return row if row.attempts >= 1 else None

    return await eventually(attempted, timeout=10, what=f"delivery {delivery_id} tried")


async def test_delivery_refuses_names_that_resolve_to_disallowed_addresses(
    web: WebEnv, receiver: Receiver
) -> None:
    resolved = {info[4][0] for info in socket.getaddrinfo(HOST_NAME, None)}
    assert not any(ipaddress.ip_address(a).is_global for a in resolved), resolved
    port = receiver.server.port
    # Stored before this check existed, or the name pointed elsewhere when it was given.
    urls = [
        f"http://{HOST_NAME}:{port}/by-name",
        f"http://localhost:{port}/localhost",
        f"http://127.0.0.1:{port}/literal",
        f"http://[::ffff:127.0.0.1]:{port}/mapped",
    ]
    for url in urls:
        row = await tried(web, await stored(web, url))
        assert (row.last_error, row.response_status) == ("refused_address", None), url
    assert receiver.received.empty()


@pytest.mark.parametrize("allowed", ["127.0.0.1", "127.0.0.0/8", HOST_NAME])
async def test_an_allowed_lan_receiver_still_receives(
    db_url: str, receiver: Receiver, allowed: str
) -> None:
    host = HOST_NAME if allowed == HOST_NAME else "127.0.0.1"
    async for web in make_web_env(settings_for(db_url), options_allowing(allowed)):
        await key_secret(web, receiver.url("/key-hook").replace("127.0.0.1", host))
        message_id = await send_one(
            web, callback_url=receiver.url("/callback").replace("127.0.0.1", host)
        )
        await mark(web, message_id, "delivered")
        paths = sorted([(await receiver.next())[2], (await receiver.next())[2]])
        assert paths == ["/callback", "/key-hook"]
        with_credentials = (
            receiver.url("/with-credentials")
            .replace("http://", "http://user:secret@")
            .replace("127.0.0.1", host)
        )
        row = await tried(web, await stored(web, with_credentials))
        assert row.last_error is None
        headers, _, path = await receiver.next()
        assert path == "/with-credentials"
        assert "Authorization" not in headers, "credentials in a URL are never forwarded"


@contextlib.asynccontextmanager
async def tcp_server(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any],
) -> AsyncIterator[int]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_the_stored_error_is_a_neutral_class(db_url: str, receiver: Receiver) -> None:
    async def not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
        await writer.drain()
        writer.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    receiver.failures_left = 1
    options = options_allowing("127.0.0.1", webhook_timeout=0.5, webhook_max_attempts=1)
    async for web in make_web_env(settings_for(db_url), options):
        async with tcp_server(not_http) as open_port, tcp_server(silent) as silent_port:
            cases = {
                f"http://127.0.0.1:{closed_port}/": "connect_failed",
                f"http://127.0.0.1:{open_port}/": "connect_failed",
                f"http://127.0.0.1:{silent_port}/": "timeout",
                receiver.url("/fails-once"): "http_status_500",
                f"http://10.0.0.1:{open_port}/": "refused_address",
            }
            for url, expected in cases.items():
                row = await tried(web, await stored(web, url))
                assert row.last_error == expected, (url, row.last_error)
