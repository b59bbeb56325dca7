"""Webhooks end to end: events in the database become signed POSTs to a receiver, failures
are retried with backoff, deliveries made while no web process ran are not lost, replay, and
Kannel-style dlr-url calls; with client accounts, a key's own webhook wins, a key without one
uses its account's (signed with the account's secret), and incoming messages reach an
account's webhook once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import insert, select, update

from gatewayd.config import Settings
from gatewayd.store import (
    accounts,
    api_keys,
    incoming_messages,
    message_events,
    messages,
    utc_now,
)
from gatewayd.store import webhook_deliveries as deliveries
from tests.integration.web.conftest import WebEnv, make_web_env, settings_for
from webui.addresses import AddressPolicy
from webui.auth.apikeys import create_api_key
from webui.options import WebOptions, options_from_settings
from webui.webhooks.signing import verify


@dataclass
class Receiver:
    server: TestServer
    received: asyncio.Queue[tuple[dict[str, str], bytes, str]] = field(
        default_factory=asyncio.Queue
    )
    failures_left: int = 0

    def url(self, path: str = "/hook") -> str:
        return str(self.server.make_url(path))

    async def next(self, timeout: float = 10.0) -> tuple[dict[str, str], bytes, str]:
        return await asyncio.wait_for(self.received.get(), timeout)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    holder: list[Receiver] = []

    async def handle(request: web.Request) -> web.Response:
        me = holder[0]
        body = await request.read()
        if me.failures_left > 0:
            me.failures_left -= 1
            return web.Response(status=500)
        me.received.put_nowait((dict(request.headers), body, request.path_qs))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app)
    await server.start_server()
    holder.append(Receiver(server))
    try:
        yield holder[0]
    finally:
        await server.close()


def fast(settings: Settings, **extra: Any) -> WebOptions:
    """Quick retries; the receivers listen on 127.0.0.1, a LAN receiver to allow-list."""
    extra.setdefault("webhook_policy", AddressPolicy.parse(["127.0.0.1"]))
    return options_from_settings(
        settings,
        webhook_poll_interval=0.05,
        webhook_backoff_base=0.05,
        webhook_commit_lag=0.0,
        **extra,
    )


@pytest.fixture
def web_options() -> Any:
    return fast


async def key_secret(web: WebEnv, url: str) -> tuple[int, str]:
    async with web.db.begin() as conn:
        row = (await conn.execute(select(api_keys).where(api_keys.c.name == "operator-key"))).one()
        await conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(webhook_url=url))
    return row.id, row.webhook_secret


async def mark(web: WebEnv, message_id: int, status: str, detail: str | None = None) -> None:
    """What gatewayd does when a message changes state."""
    async with web.db.begin() as conn:
        await conn.execute(
            update(messages)
            .where(messages.c.id == message_id)
            .values(status=status, updated_at=utc_now())
        )
        await conn.execute(
            insert(message_events).values(
                message_id=message_id, status=status, detail=detail, at=utc_now()
            )
        )


async def send_one(web: WebEnv, **extra: Any) -> int:
    response = await web.client.post(
        "/api/v1/messages",
        json={"to": "+5511987654321", "text": "hook", **extra},
        headers=web.bearer("operator"),
    )
    assert response.status == 202
    return int((await response.json())["id"])


async def test_status_event_is_posted_signed(web: WebEnv, receiver: Receiver) -> None:
    _, secret = await key_secret(web, receiver.url("/key-hook"))
    message_id = await send_one(web, callback_url=receiver.url("/per-message"))
    await mark(web, message_id, "delivered")
    got = [await receiver.next(), await receiver.next()]
    assert sorted(path for _, _, path in got) == ["/key-hook", "/per-message"]
    for headers, body, _ in got:
        assert headers["X-Event"] == "message.status"
        assert verify(secret, body, headers["X-Signature"])
        payload = json.loads(body)
        assert (payload["id"], payload["status"]) == (message_id, "delivered")


async def test_incoming_message_reaches_key_webhook(web: WebEnv, receiver: Receiver) -> None:
    _, secret = await key_secret(web, receiver.url())
    async with web.db.begin() as conn:
        await conn.execute(
            insert(incoming_messages).values(
                sender="+5511911112222",
                text="Oi",
                modem="m0",
                received_at=utc_now(),
                dedupe_key="k1",
            )
        )
    headers, body, _ = await receiver.next()
    assert headers["X-Event"] == "message.received"
    assert verify(secret, body, headers["X-Signature"])
    assert json.loads(body)["from"] == "+5511911112222"


async def test_failing_receiver_is_retried_until_it_answers(
    web: WebEnv, receiver: Receiver
) -> None:
    receiver.failures_left = 2
    await key_secret(web, receiver.url())
    message_id = await send_one(web)
    await mark(web, message_id, "failed", "network said no")
    _headers, body, _ = await receiver.next()
    assert json.loads(body)["error"] == "network said no"
    for _ in range(100):
        async with web.db.read() as conn:
            row = (await conn.execute(select(deliveries))).one()
        if row.status == "delivered":
            break
        await asyncio.sleep(0.05)
    assert row.status == "delivered" and row.attempts == 3


async def test_events_while_web_was_down_are_delivered_later(
    db_url: str, receiver: Receiver
) -> None:
    settings = settings_for(db_url)
    keys: dict[str, str] = {}
    async for down in make_web_env(settings, lambda s: fast(s, run_dispatcher=False)):
        keys = down.keys
        await key_secret(down, receiver.url())
        message_id = await send_one(down)
        await mark(down, message_id, "sent")
    assert receiver.received.empty()
    async for up in make_web_env(settings, fast, seed=False):
        _, body, _ = await receiver.next()
        assert json.loads(body)["status"] == "sent"
        listed = await up.client.get(
            "/api/v1/webhooks/deliveries", headers={"Authorization": f"Bearer {keys['operator']}"}
        )
        assert listed.status == 403


async def test_admin_replays_a_delivery(web: WebEnv, receiver: Receiver) -> None:
    from tests.integration.web.conftest import login

    await key_secret(web, receiver.url())
    await mark(web, await send_one(web), "delivered")
    await receiver.next()
    await login(web.client, "admin")
    me = await (await web.client.get("/api/v1/me")).json()
    listed = await (await web.client.get("/api/v1/webhooks/deliveries")).json()
    delivery_id = listed["deliveries"][0]["id"]
    replay = await web.client.post(
        f"/api/v1/webhooks/deliveries/{delivery_id}/replay",
        headers={"X-CSRF-Token": me["csrf_token"]},
    )
    assert replay.status == 202
    headers, _, _ = await receiver.next()
    assert headers["X-Delivery-Id"] == str(delivery_id)


async def test_kannel_sendsms_and_dlr_url(web: WebEnv, receiver: Receiver) -> None:
    dlr = receiver.url("/dlr") + "?type=%d&to=%p&id=%I"
    response = await web.client.get(
        "/cgi-bin/sendsms",
        params={
            "username": "operator-key",
            "password": web.keys["operator"],
            "to": "+5511987654321",
            "text": "from kannel",
            "dlr-url": dlr,
            "dlr-mask": "3",
        },
    )
    assert response.status == 202
    assert await response.text() == "0: Accepted for delivery"
    refused = await web.client.get(
        "/cgi-bin/sendsms",
        params={
            "username": "viewer-key",
            "password": web.keys["viewer"],
            "to": "+5511987654321",
            "text": "x",
        },
    )
    assert refused.status == 403
    async with web.db.read() as conn:
        message_id = (await conn.execute(select(messages.c.id))).scalar_one()
    await mark(web, message_id, "sent")  # mask 3 does not ask for type 8
    await mark(web, message_id, "delivered")
    _, _, path = await receiver.next()
    assert path == f"/dlr?type=1&to=%2B5511987654321&id={message_id}"


# -- client accounts: a key's own webhook wins, else its account's --------------------------


async def account_hook(web: WebEnv, url: str) -> str:
    """Give the default account (that of the seeded keys) a webhook; its secret."""
    async with web.db.begin() as conn:
        await conn.execute(
            update(accounts).where(accounts.c.name == "default").values(webhook_url=url)
        )
        secret = (
            await conn.execute(
                select(accounts.c.webhook_secret).where(accounts.c.name == "default")
            )
        ).scalar_one()
    if secret is None:
        async with web.db.begin() as conn:
            await conn.execute(
                update(accounts)
                .where(accounts.c.name == "default")
                .values(webhook_secret="account-secret")
            )
        secret = "account-secret"
    return str(secret)


async def test_keys_without_a_webhook_use_their_accounts(web: WebEnv, receiver: Receiver) -> None:
    secret = await account_hook(web, receiver.url("/account"))
    message_id = await send_one(web)
    await mark(web, message_id, "delivered")
    headers, body, path = await receiver.next()
    assert path == "/account"
    assert verify(secret, body, headers["X-Signature"])
    assert json.loads(body)["id"] == message_id


async def test_a_keys_own_webhook_wins(web: WebEnv, receiver: Receiver) -> None:
    await account_hook(web, receiver.url("/account"))
    async with web.db.begin() as conn:
        key = (await conn.execute(select(api_keys).where(api_keys.c.name == "operator-key"))).one()
        await conn.execute(
            update(api_keys).where(api_keys.c.id == key.id).values(webhook_url=receiver.url("/key"))
        )
    message_id = await send_one(web)
    await mark(web, message_id, "delivered")
    headers, body, path = await receiver.next()
    assert path == "/key"
    assert verify(key.webhook_secret, body, headers["X-Signature"])


async def test_incoming_reaches_an_account_once(web: WebEnv, receiver: Receiver) -> None:
    secret = await account_hook(web, receiver.url("/account"))
    async with web.db.begin() as conn:
        await create_api_key(conn, "third-key", "operator")  # a third key of the account
        await conn.execute(
            insert(incoming_messages).values(
                sender="+5511911112222",
                text="Oi",
                modem="m0",
                received_at=utc_now(),
                dedupe_key="account-once",
            )
        )
    headers, body, path = await receiver.next()
    assert (path, json.loads(body)["text"]) == ("/account", "Oi")
    assert verify(secret, body, headers["X-Signature"])
    assert receiver.received.empty()
