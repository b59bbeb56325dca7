"""Alerts against real parts, on PostgreSQL and SQLite: failures raise an alert whose mail
reaches an aiosmtpd relay (SMS text in it cannot add a header or a recipient) and whose
webhook reaches an aiohttp receiver; the quiet period holds repeats back; a clear is sent;
two evaluators on one database raise each alert once; a modem needs its hold time; low credit,
a stuck queue and a full disk raise theirs; a disk alert of another host is left alone; a
modem cut off in the simulator raises ``modem_offline``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import insert, select, update

from gatewayd.bus import InProcessBus
from gatewayd.config import MailSettings
from gatewayd.events import EVENTS, AlertChanged
from gatewayd.queue.lease import Grant, acquire
from gatewayd.store import (
    AlertKind,
    Database,
    alert_history,
    alert_states,
    messages,
    modems,
    outgoing_mail,
    utc_now,
    webhook_deliveries,
)
from tests.integration.core_flow.harness import eventually, flow
from webui.addresses import AddressPolicy
from webui.alerts.decide import Step
from webui.alerts.observe import Where
from webui.alerts.runner import AlertRunner
from webui.alerts.settings import SETTING_NAME
from webui.mail.sender import MailSender
from webui.options import WebOptions
from webui.services.preferences import write_setting
from webui.webhooks.dispatcher import running_dispatcher

HOSTILE_TEXT = "Oi\r\nBcc: victim@evil.example\r\nSubject: free money\r\n\r\n<script>x</script>"


class Relay:
    def __init__(self) -> None:
        self.received: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 OK"


@pytest.fixture
async def relay() -> AsyncIterator[tuple[Relay, int]]:
    handler = Relay()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="relay.test", loop=loop), "127.0.0.1", 0
    )
    try:
        yield handler, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


class Hooks:
    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[dict[str, str], dict[str, Any]]] = asyncio.Queue()
        self.url = ""

    async def next(self) -> tuple[dict[str, str], dict[str, Any]]:
        return await asyncio.wait_for(self.received.get(), 10)


@pytest.fixture
async def hooks() -> AsyncIterator[Hooks]:
    found = Hooks()

    async def handle(request: web.Request) -> web.Response:
        found.received.put_nowait((dict(request.headers), json.loads(await request.read())))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/alerts", handle)
    server = TestServer(app)
    await server.start_server()
    found.url = str(server.make_url("/alerts"))
    try:
        yield found
    finally:
        await server.close()


def runner_for(db: Database, tmp_path: Path, **options: Any) -> AlertRunner:
    return AlertRunner(
        db, InProcessBus(), Where("testhost", tmp_path), mail_enabled=True, **options
    )


async def configure(db: Database, **document: Any) -> None:
    async with db.begin() as conn:
        await write_setting(conn, SETTING_NAME, document)


async def add_message(db: Database, status: str, **values: Any) -> int:
    row = {
        "recipient": "+5511987654321",
        "text": "x",
        "encoding": "gsm7",
        "segments": 1,
        "status": status,
        **values,
    }
    async with db.begin() as conn:
        result = await conn.execute(insert(messages).values(**row).returning(messages.c.id))
        return int(result.scalar_one())


async def table(db: Database, which: Any) -> list[Any]:
    async with db.read() as conn:
        return list(await conn.execute(select(which).order_by(which.c.id)))


ONLY_FAILURES = {kind.value: {"enabled": kind is AlertKind.MESSAGE_FAILED} for kind in AlertKind}


async def test_a_failure_is_mailed_and_posted_once_then_cleared(
    db: Database, tmp_path: Path, relay: tuple[Relay, int], hooks: Hooks
) -> None:
    handler, port = relay
    await configure(db, email_to=["ops@example.com"], webhook_url=hooks.url, kinds=ONLY_FAILURES)
    failed = await add_message(db, "failed", text=HOSTILE_TEXT, error="CMS ERROR 500\r\nX: y")
    runner = runner_for(db, tmp_path)
    live = runner.bus.subscribe(EVENTS)

    [taken] = await runner.round()
    assert (taken.kind, taken.subject, taken.step) == (
        AlertKind.MESSAGE_FAILED,
        "messages",
        "raised",
    )
    assert taken.notified == ("email", "webhook")
    assert await runner.round() == []  # still failing, within the quiet period: quiet
    announced = await live.get(timeout=5)
    assert announced == AlertChanged(kind="message_failed", subject="messages", active=True)

    mail = MailSender(db, MailSettings(host="127.0.0.1", port=port, sender="gw@sms.example"))
    assert await mail.round() == 1
    [envelope] = handler.received
    assert envelope.rcpt_tos == ["ops@example.com"]
    message = message_from_bytes(envelope.original_content or b"", policy=default)
    assert message.get_all("Bcc") is None and message.get_all("To") == ["ops@example.com"]
    assert message["Subject"].startswith("[SMS gateway] ALERT Messages failed: 1 message")
    assert "\n" not in message["Subject"] and message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert f"#{failed}" in body and "Bcc: victim@evil.example" in body  # quoted, as text

    options = WebOptions(
        secret_key="s" * 40,
        webhook_policy=AddressPolicy.parse(["127.0.0.1"]),
        webhook_poll_interval=0.05,
        webhook_commit_lag=0.0,
    )
    async with running_dispatcher(db, runner.bus, options) as dispatcher:
        dispatcher.wake.set()
        headers, payload = await hooks.next()
    assert headers["X-Event"] == "alert.raised"
    assert (payload["kind"], payload["subject"], payload["repeat"]) == (
        "message_failed",
        "messages",
        False,
    )
    assert payload["detail"]["last_text"] == " ".join(HOSTILE_TEXT.split())

    # The failure leaves the window: the alert clears, and the clear is mailed too.
    async with db.begin() as conn:
        old = utc_now() - timedelta(hours=2)
        await conn.execute(update(messages).values(updated_at=old))
    [cleared] = await runner.round()
    assert cleared.step is Step.CLEAR and cleared.notified == ("email", "webhook")
    assert await mail.round() == 1
    second = message_from_bytes(handler.received[1].original_content or b"", policy=default)
    assert second["Subject"].startswith("[SMS gateway] CLEARED Messages failed")
    [state] = await table(db, alert_states)
    assert not state.active and state.cleared_at is not None
    history = [(row.event, row.notified) for row in await table(db, alert_history)]
    assert history == [("raised", ["email", "webhook"]), ("cleared", ["email", "webhook"])]


async def test_the_quiet_period_holds_repeats_back(db: Database, tmp_path: Path) -> None:
    kinds = {**ONLY_FAILURES, "message_failed": {"quiet": 600}}
    await configure(db, email_to=["ops@example.com"], kinds=kinds)
    await add_message(db, "failed")
    runner = runner_for(db, tmp_path)
    start = utc_now()
    assert [t.step for t in await runner.round(start)] == ["raised"]
    assert await runner.round(start + timedelta(seconds=599)) == []
    [again] = await runner.round(start + timedelta(seconds=600))
    assert again.step is Step.REPEAT and again.notified == ("email",)
    subjects = [row.subject for row in await table(db, outgoing_mail)]
    assert len(subjects) == 2 and subjects[1].startswith("[SMS gateway] STILL Messages failed")


async def test_two_evaluators_raise_each_alert_once(db_url: str, tmp_path: Path) -> None:
    databases = [Database(db_url), Database(db_url)]
    try:
        await configure(databases[0], email_to=["ops@example.com"], kinds=ONLY_FAILURES)
        await add_message(databases[0], "failed")
        runners = [runner_for(d, tmp_path) for d in databases]
        for _ in range(3):
            now = utc_now()
            await asyncio.gather(*(r.round(now) for r in runners))
        raised = [row for row in await table(databases[0], alert_history)]
        assert [row.event for row in raised] == ["raised"]
        assert len(await table(databases[0], outgoing_mail)) == 1
    finally:
        for database in databases:
            await database.close()


async def announce(db: Database, names: list[str]) -> None:
    async with db.begin() as conn:
        grant = await acquire(conn, "h1", instance="test", modems=names, expiry=60)
        assert isinstance(grant, Grant)
        for name in names:
            await conn.execute(
                insert(modems).values(name=name, host="h1", device=f"/dev/{name}", state="online")
            )


async def set_modem(db: Database, name: str, **values: Any) -> None:
    async with db.begin() as conn:
        await conn.execute(update(modems).where(modems.c.name == name).values(**values))


async def test_a_modem_must_stay_offline_for_its_threshold(db: Database, tmp_path: Path) -> None:
    kinds = {kind.value: {"enabled": kind is AlertKind.MODEM_OFFLINE} for kind in AlertKind}
    kinds["modem_offline"] = {"threshold": 60}
    await configure(db, kinds=kinds)
    await announce(db, ["sim0", "sim1"])
    await set_modem(db, "sim0", state="quarantined", error="no answer to AT")
    runner = runner_for(db, tmp_path)
    start = utc_now()
    assert [t.step for t in await runner.round(start)] == ["pending"]
    assert await runner.round(start + timedelta(seconds=59)) == []
    [raised] = await runner.round(start + timedelta(seconds=60))
    assert (raised.subject, raised.step) == ("sim0", "raised")
    [state] = [s for s in await table(db, alert_states) if s.active]
    assert state.text == "Modem sim0 is quarantined: no answer to AT"
    await set_modem(db, "sim0", state="online", error=None)
    [cleared] = await runner.round(start + timedelta(seconds=61))
    assert (cleared.subject, cleared.step) == ("sim0", "cleared")


async def test_low_credit_stuck_queue_and_full_disk(db: Database, tmp_path: Path) -> None:
    kinds = {
        "modem_offline": {"enabled": False},
        "message_failed": {"enabled": False},
        "queue_stuck": {"threshold": 60},
        "disk_full": {"threshold": 1},
    }
    await configure(db, kinds=kinds)
    await announce(db, ["sim0"])
    await set_modem(db, "sim0", balance=2.5, low_balance=5.0, balance_text="Saldo R$ 2,50")
    old = utc_now() - timedelta(minutes=10)
    await add_message(db, "queued", created_at=old, updated_at=old)
    # An alert of a disk on another host: this process cannot see that disk, so keeps it.
    async with db.begin() as conn:
        await conn.execute(
            insert(alert_states).values(
                kind="disk_full", subject="otherhost:/data", active=True, raised_at=old
            )
        )
    taken = await runner_for(db, tmp_path).round()
    assert {(t.kind.value, t.subject, t.step.value) for t in taken} == {
        ("low_credit", "sim0", "raised"),
        ("queue_stuck", "queue", "raised"),
        ("disk_full", f"testhost:{tmp_path}", "raised"),
    }
    active = {(s.kind, s.subject): s for s in await table(db, alert_states) if s.active}
    assert ("disk_full", "otherhost:/data") in active
    assert active[("low_credit", "sim0")].detail["threshold"] == 5.0
    assert "1 messages due" in active[("queue_stuck", "queue")].text


async def test_a_disabled_kind_clears_its_alerts(db: Database, tmp_path: Path) -> None:
    await configure(db, kinds=ONLY_FAILURES)
    await add_message(db, "failed")
    runner = runner_for(db, tmp_path)
    assert [t.step for t in await runner.round()] == ["raised"]
    await configure(db, kinds={**ONLY_FAILURES, "message_failed": {"enabled": False}})
    assert [t.step for t in await runner.round()] == ["cleared"]
    assert await table(db, webhook_deliveries) == []  # no webhook_url: no delivery


async def test_a_modem_cut_off_in_the_simulator_raises_modem_offline(
    db_url: str, tmp_path: Path
) -> None:
    kinds = {kind.value: {"enabled": kind is AlertKind.MODEM_OFFLINE} for kind in AlertKind}
    kinds["modem_offline"] = {"threshold": 10}
    async with flow(db_url, tmp_path, modems=1, start=False) as f:
        await f.start(health_interval=0.3)
        await configure(f.db, email_to=["ops@example.com"], kinds=kinds)
        runner = runner_for(f.db, tmp_path)

        async def state() -> str | None:
            async with f.db.read() as conn:
                found = await conn.scalar(select(modems.c.state).where(modems.c.name == "sim0"))
            return str(found) if found else None

        await eventually(lambda: _is(state, "online"), timeout=20, what="sim0 online")
        assert await runner.round() == []
        f.network.fault(0, "disconnect")
        await eventually(lambda: _is_not(state, "online"), timeout=20, what="sim0 cut off")
        start = utc_now()
        assert [t.step for t in await runner.round(start)] == ["pending"]
        [raised] = await runner.round(start + timedelta(seconds=10))
        assert (raised.kind, raised.subject, raised.notified) == (
            AlertKind.MODEM_OFFLINE,
            "sim0",
            ("email",),
        )
        [mail] = await table(f.db, outgoing_mail)
        assert mail.subject.startswith("[SMS gateway] ALERT Modem offline: Modem sim0 is ")
        assert mail.reason == "alert:modem_offline"


async def _is(read: Any, wanted: str) -> bool:
    return bool(await read() == wanted)


async def _is_not(read: Any, wanted: str) -> bool:
    found = await read()
    return found is not None and found != wanted
