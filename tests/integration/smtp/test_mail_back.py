"""Outcomes mailed back to the sender of a mail (``[smtp] reports``), on PostgreSQL and
SQLite: smtplib sends a mail to our SMTP server, its SMS are handed to a modem and settled by
real status-report PDUs, and aiosmtpd, as the relay, receives the report from the mail
sender — one summary once every recipient is final, or one mail per SMS; the SMS text
(folded headers, ``Bcc:`` lines, a lone ``.``) never reaches a header or the envelope."""

from __future__ import annotations

import asyncio
import smtplib
from email import message_from_bytes
from email.policy import default
from typing import Any

import pytest
from sqlalchemy import func, select

from gatewayd.config import MailSettings, Settings
from gatewayd.events import EVENTS, MessageStatusChanged
from gatewayd.queue.reports import apply_status_report
from gatewayd.sms import StatusReport, decode_pdu, encode_status_report
from gatewayd.store import Database, messages, utc_now, web_cursors, webhook_deliveries
from tests.integration.core_flow.harness import eventually
from tests.integration.web.conftest import make_web_env, settings_for
from tests.support.mail import running_relay
from tests.support.sending import answered, claim, hand_over
from tests.support.smtp_gateway import SmtpGateway, Starter, in_thread
from webui.keys import BUS
from webui.mail.reports import REPORT_CURSOR, parse_report_url, report_url
from webui.mail.sender import MailSender, SenderPolicy
from webui.options import WebOptions, options_from_settings
from webui.webhooks.derive import derive_status_events

NUMBER = "+5511987654321"
OTHER = "+5511987654322"
IMSI = "724050000000001"
DELIVERED, FAILED = 0x00, 0x41
SENDER = "erp@example.com"
HOSTILE = (
    b"From: erp@example.com\r\n"
    b"To: x@sms.example\r\n"
    b"Subject: Disk full\r\n Bcc: victim@evil.example\r\n"
    b"\r\n"
    b"db1 at 99%\r\n"
    b"Bcc: victim@evil.example\r\n"
    b".\r\n"
    b"To: other@evil.example\r\n"
)
"""A folded subject and body lines shaped as headers and as the end of DATA (a lone ``.``,
which smtplib dot-stuffs)."""


def status_report(recipient: str, mr: int, status: int) -> StatusReport:
    now = utc_now().replace(microsecond=0)
    pdu = encode_status_report(recipient, mr, scts=now, discharge_time=now, status=status)
    decoded = decode_pdu(pdu.pdu)
    assert isinstance(decoded, StatusReport)
    return decoded


async def hand_all_to_modem(db: Database) -> dict[str, int]:
    """Every queued message sent by modem sim0; the MR of each recipient."""
    mrs: dict[str, int] = {}
    async with db.begin() as conn:
        claimed = await claim(conn, host="h", modem="sim0", now=utc_now(), limit=10)
        for mr, message in enumerate(claimed, start=10):
            now = utc_now()
            slot = await hand_over(conn, message, 0, modem="sim0", imsi=IMSI, now=now)
            await answered(conn, slot, mr, modem="sim0", now=now)
            mrs[message.recipient] = mr
    return mrs


async def settle(db: Database, recipient: str, mr: int, status: int) -> None:
    async with db.begin() as conn:
        outcome = await apply_status_report(
            conn, status_report(recipient, mr, status), modem="sim0", imsi=IMSI, now=utc_now()
        )
    assert outcome.matched


def mail_sender(db: Database, port: int) -> MailSender:
    relay = MailSettings(host="127.0.0.1", port=port, sender="gateway@sms.example")
    return MailSender(db, relay, SenderPolicy(timeout=5, commit_lag=0))


async def send_hostile_mail(gateway: SmtpGateway, *numbers: str) -> None:
    def send() -> dict[str, tuple[int, bytes]]:
        with gateway.tls_client() as client:
            client.login("erp", gateway.key)
            return client.sendmail(SENDER, [f"{n}@sms.example" for n in numbers], HOSTILE)

    assert await in_thread(send) == {}


def parsed(envelope: Any) -> Any:
    return message_from_bytes(envelope.original_content or envelope.content, policy=default)


async def ids_by_number(db: Database) -> dict[str, int]:
    async with db.read() as conn:
        rows = await conn.execute(select(messages.c.recipient, messages.c.id))
        return {row.recipient: row.id for row in rows}


async def test_one_summary_once_every_recipient_is_final(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway(reports="summary")
    db = gateway.db
    await send_hostile_mail(gateway, NUMBER, OTHER)
    ids = await ids_by_number(db)
    mrs = await hand_all_to_modem(db)
    async with running_relay() as (relay, port):
        sender = mail_sender(db, port)
        await settle(db, NUMBER, mrs[NUMBER], DELIVERED)
        assert await sender.round() == 0  # one recipient still open: no summary yet
        await settle(db, OTHER, mrs[OTHER], FAILED)
        assert await sender.round() == 1
        assert await sender.round() == 0  # exactly once
    [envelope] = relay.received
    assert envelope.mail_from == "gateway@sms.example"
    assert envelope.rcpt_tos == [SENDER]
    report = parsed(envelope)
    assert str(report["Subject"]) == "SMS report: 1 delivered, 1 failed"
    assert report["To"] == SENDER
    assert report.get_all("Bcc") is None
    assert "evil" not in "".join(f"{k}: {v}" for k, v in report.items())
    body = report.get_content().replace("\r\n", "\n")
    assert f"{NUMBER:<16}  delivered" in body and f"message {ids[NUMBER]}" in body
    assert f"{OTHER:<16}  failed" in body and f"message {ids[OTHER]}" in body
    assert "0x41" in body  # the failure's reason
    assert "  Bcc: victim@evil.example\n  .\n  To: other@evil.example" in body
    async with db.begin() as conn:  # a mailto: callback is not a webhook
        await derive_status_events(conn, utc_now(), 0)
        hooks = (await conn.execute(select(func.count()).select_from(webhook_deliveries))).one()
    assert hooks[0] == 0


@pytest.mark.parametrize("mode", ["each", "failures"])
async def test_a_mail_per_sms(smtp_gateway: Starter, mode: str) -> None:
    gateway = await smtp_gateway(reports=mode)
    db = gateway.db
    await send_hostile_mail(gateway, NUMBER, OTHER)
    ids = await ids_by_number(db)
    mrs = await hand_all_to_modem(db)
    async with running_relay() as (relay, port):
        sender = mail_sender(db, port)
        await settle(db, NUMBER, mrs[NUMBER], DELIVERED)
        await settle(db, OTHER, mrs[OTHER], FAILED)
        await sender.round()
        assert await sender.round() == 0
    subjects = sorted(str(parsed(e)["Subject"]) for e in relay.received)
    failed = f"SMS {ids[OTHER]} to {OTHER}: failed"
    delivered = f"SMS {ids[NUMBER]} to {NUMBER}: delivered"
    assert subjects == ([delivered, failed] if mode == "each" else [failed])
    assert all(e.rcpt_tos == [SENDER] for e in relay.received)
    failure = next(parsed(e) for e in relay.received if "failed" in str(parsed(e)["Subject"]))
    assert "Outcome:  failed" in failure.get_content()


async def test_off_by_default_and_no_report_for_the_null_sender(smtp_gateway: Starter) -> None:
    off = await smtp_gateway(allowed_networks=("127.0.0.0/8",))

    def send(sender: str) -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", off.port, timeout=30) as client:
            return client.sendmail(sender, [f"{NUMBER}@sms.example"], b"Subject: hi\r\n\r\nx\r\n")

    assert await in_thread(send, SENDER) == {}
    async with off.db.read() as conn:
        urls = list((await conn.execute(select(messages.c.callback_url))).scalars())
    assert urls == [None]
    assert report_url("", "summary") is None  # MAIL FROM:<> (a bounce) asks for nothing
    assert report_url('"two words"@example.com', "each") is None
    url = report_url("a+b@example.com", "failures")
    assert url == "mailto:a%2Bb@example.com?report=failures"
    request = parse_report_url(url)
    assert request is not None and (request.address, request.mode) == (
        "a+b@example.com",
        "failures",
    )
    assert parse_report_url("mailto:x@example.com%0ABcc:y@evil.example?report=each") is None
    assert parse_report_url("https://example.com/hook") is None


async def test_the_web_process_mails_the_report_when_woken(
    smtp_gateway: Starter, db_url: str
) -> None:
    """The app's own mail sender (``SMSGW_MAIL_URL`` set): after its first round found nothing,
    a final status on the bus wakes it, long before its 10 s poll."""
    gateway = await smtp_gateway(reports="failures")
    await send_hostile_mail(gateway, NUMBER)
    mrs = await hand_all_to_modem(gateway.db)
    async with running_relay() as (relay, port):
        settings = settings_for(
            db_url,
            SMSGW_MAIL_URL=f"smtp://127.0.0.1:{port}",
            SMSGW_MAIL_FROM="gateway@sms.example",
        )

        def options(settings: Settings) -> WebOptions:
            return options_from_settings(settings, webhook_commit_lag=0.0)

        async for web in make_web_env(settings, options, seed=False):

            async def first_round_done() -> bool:
                async with gateway.db.read() as conn:
                    query = select(web_cursors.c.name).where(web_cursors.c.name == REPORT_CURSOR)
                    return (await conn.execute(query)).first() is not None

            await eventually(first_round_done, timeout=10, what="the sender's first round")
            await settle(gateway.db, NUMBER, mrs[NUMBER], FAILED)
            [message_id] = (await ids_by_number(gateway.db)).values()
            event = MessageStatusChanged(id=message_id, status="failed", error=None, at=utc_now())
            await web.app[BUS].publish(EVENTS, event)
            await asyncio.wait_for(relay.arrived.wait(), 8)
    [envelope] = relay.received
    assert envelope.rcpt_tos == [SENDER]
    assert str(parsed(envelope)["Subject"]) == f"SMS {message_id} to {NUMBER}: failed"
