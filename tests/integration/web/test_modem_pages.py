"""The modems pages: the list, one modem's details and signal history, and the operator's
commands (USSD, restart) that go to gatewayd over the bus and come back on the page. A task in
the test answers on the commands channel as gatewayd's command loop does."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import insert, select

from gatewayd.commands import open_sealed, seal_event
from gatewayd.config import Settings
from gatewayd.events import (
    COMMAND_KINDS,
    COMMANDS,
    Command,
    CommandAnswer,
    UssdCommand,
    reply_channel,
)
from gatewayd.store import audit_log, modem_samples, modems, utc_now
from tests.integration.web.conftest import WebEnv, csrf_from, login
from webui.keys import BUS, OPTIONS
from webui.options import WebOptions, options_from_settings


@pytest.fixture
def web_options() -> Any:
    def make(settings: Settings) -> WebOptions:
        return options_from_settings(settings, run_dispatcher=False, command_timeout=0.5)

    return make


async def add_modems(web: WebEnv) -> None:
    now = utc_now()
    async with web.db.begin() as conn:
        await conn.execute(
            insert(modems).values(
                name="claro1",
                host="gw1",
                device="/dev/ttyUSB0",
                state="online",
                signal_dbm=-71,
                operator="Claro",
                registration="home",
                last_seen=now,
                imei="356938035643809",
                imsi="724051234567890",
                manufacturer="Quectel",
                model="EC25",
            )
        )
        await conn.execute(
            insert(modems).values(
                name="vivo2",
                host="gw1",
                device="/dev/ttyUSB1",
                state="no_sim",
                last_seen=now,
                error="SIM not inserted",
            )
        )
        await conn.execute(
            insert(modem_samples),
            [
                {"modem": "claro1", "at": now - timedelta(minutes=m), "signal_dbm": -70 - m}
                for m in (30, 20, 10)
            ]
            + [{"modem": "claro1", "at": now - timedelta(days=2), "signal_dbm": -99}],
        )


@asynccontextmanager
async def gateway(web: WebEnv, answer: dict[str, Any]) -> AsyncIterator[list[Command]]:
    """Answer every command with ``answer`` (the fields of a :class:`CommandAnswer`), sealed as
    gatewayd seals it; yields the commands received (once the envelope's signature held)."""
    bus = web.app[BUS]
    key = web.app[OPTIONS].command_key
    subscription = bus.subscribe(COMMANDS)
    received: list[Command] = []

    async def serve() -> None:
        while True:
            sealed = await subscription.get(5)
            if sealed is None:
                continue
            nonce, command = open_sealed(key, sealed, COMMAND_KINDS)
            received.append(command)
            reply = CommandAnswer(in_reply_to=nonce, **answer)
            await bus.publish(reply_channel(command.reply_to), seal_event(key, reply))

    task = asyncio.create_task(serve())
    try:
        yield received
    finally:
        task.cancel()
        bus.unsubscribe(subscription)


async def signed_in(web: WebEnv, role: str) -> str:
    assert (await login(web.client, role)).status == 303
    return csrf_from(await (await web.client.get("/modems")).text())


async def audited(web: WebEnv) -> list[tuple[str, str | None, Any]]:
    async with web.db.read() as conn:
        rows = await conn.execute(
            select(audit_log.c.action, audit_log.c.target, audit_log.c.detail)
            .where(audit_log.c.action.like("modem.%"))
            .order_by(audit_log.c.id)
        )
        return [(row.action, row.target, row.detail) for row in rows]


async def test_the_list_and_one_modems_details(web: WebEnv) -> None:
    await add_modems(web)
    await signed_in(web, "viewer")
    listing = await (await web.client.get("/modems")).text()
    for text in ("claro1", "vivo2", "Claro", "SIM not inserted"):
        assert text in listing, text
    detail = await (await web.client.get("/modems/claro1")).text()
    for text in ("356938035643809", "724051234567890", "Quectel", "EC25", "/dev/ttyUSB0"):
        assert text in detail, text
    assert 'data-source="/modems/claro1/signal.json"' in detail
    # Viewers see no commands.
    assert 'id="ussd-form"' not in detail and "/restart" not in detail

    points = (await (await web.client.get("/modems/claro1/signal.json")).json())["points"]
    assert [point["dbm"] for point in points] == [-100, -90, -80]  # the last 24 h, oldest first
    none = await (await web.client.get("/modems/vivo2/signal.json")).json()
    assert none == {"points": []}
    assert "No signal readings yet." in await (await web.client.get("/modems/vivo2")).text()
    missing = await web.client.get("/modems/nope")
    assert missing.status == 404
    assert 'id="error-page" data-status="404"' in await missing.text()


async def test_an_operator_sends_ussd_and_reads_the_answer(web: WebEnv) -> None:
    await add_modems(web)
    token = await signed_in(web, "operator")
    async with gateway(web, {"ok": True, "text": "Saldo: R$ 12,34"}) as received:
        sent = await web.client.post(
            "/modems/claro1/ussd",
            data={"csrf_token": token, "code": " *100# "},
            allow_redirects=False,
        )
    # Post, redirect, get: the address bar ends on the modem's page, not the POST URL.
    assert (sent.status, sent.headers["Location"]) == (303, "/modems/claro1#ussd")
    page = await web.client.get("/modems/claro1")
    html = await page.text()
    assert page.status == 200
    answer = re.search(
        r'<div class="ussd-answer ok" id="ussd-answer" role="status">\s*<pre>'
        r"([^<]*)</pre>",
        html,
    )
    assert answer is not None and unescape(answer.group(1)) == "Saldo: R$ 12,34"
    assert 'name="code" value="*100#"' in html
    assert [(type(c), c.modem) for c in received] == [(UssdCommand, "claro1")]
    assert [c.code for c in received if isinstance(c, UssdCommand)] == ["*100#"]
    assert await audited(web) == [("modem.ussd", "modem:claro1", {"code": "*100#", "ok": True})]
    # Shown once: a reload does not show (or send) it again.
    assert 'id="ussd-answer"' not in await (await web.client.get("/modems/claro1")).text()


async def test_ussd_mistakes_and_silence_are_shown(web: WebEnv) -> None:
    await add_modems(web)
    token = await signed_in(web, "operator")
    page = await web.client.post(
        "/modems/claro1/ussd", data={"csrf_token": token, "code": "*100#; rm"}
    )
    html = await page.text()
    assert 'class="ussd-answer error"' in html and "A USSD code has digits, * and #." in html
    # Nobody answers on the bus: the page says so after the command timeout.
    page = await web.client.post("/modems/claro1/ussd", data={"csrf_token": token, "code": "*222#"})
    assert "The modem did not answer in time." in await page.text()
    async with gateway(web, {"ok": False, "error": "USSD refused by the network"}):
        page = await web.client.post(
            "/modems/claro1/ussd", data={"csrf_token": token, "code": "*333#"}
        )
        assert "USSD refused by the network" in await page.text()
    assert await audited(web) == [
        ("modem.ussd", "modem:claro1", {"code": "*222#", "ok": False}),
        ("modem.ussd", "modem:claro1", {"code": "*333#", "ok": False}),
    ]


async def test_an_admin_restarts_a_modem(web: WebEnv) -> None:
    await add_modems(web)
    token = await signed_in(web, "admin")
    detail = await (await web.client.get("/modems/claro1")).text()
    assert 'action="/modems/claro1/restart"' in detail
    async with gateway(web, {"ok": True}) as received:
        response = await web.client.post(
            "/modems/claro1/restart", data={"csrf_token": token}, allow_redirects=False
        )
    assert (response.status, response.headers["Location"]) == (303, "/modems/claro1")
    assert [(c.TYPE, c.modem) for c in received] == [("modem.restart", "claro1")]
    shown = await (await web.client.get("/modems/claro1")).text()
    assert "Restart requested." in shown

    async with gateway(web, {"ok": False, "error": "the modem is busy"}):
        await web.client.post("/modems/claro1/restart", data={"csrf_token": token})
    async with gateway(web, {"ok": False}):
        failed = await web.client.post("/modems/claro1/restart", data={"csrf_token": token})
        assert "Restart failed." in await failed.text()
    assert [detail for _, _, detail in await audited(web)] == [
        {"ok": True},
        {"ok": False},
        {"ok": False},
    ]


async def test_operators_cannot_restart_and_viewers_cannot_send_ussd(web: WebEnv) -> None:
    await add_modems(web)
    token = await signed_in(web, "operator")
    assert "/restart" not in await (await web.client.get("/modems/claro1")).text()
    refused = await web.client.post(
        "/modems/claro1/restart", data={"csrf_token": token}, allow_redirects=False
    )
    assert refused.status == 403
    await web.client.post("/logout", data={"csrf_token": token})
    token = await signed_in(web, "viewer")
    refused = await web.client.post(
        "/modems/claro1/ussd", data={"csrf_token": token, "code": "*100#"}
    )
    assert refused.status == 403
    assert await audited(web) == []
