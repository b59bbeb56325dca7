"""The mail sender against aiosmtpd as the relay, on PostgreSQL and SQLite: mail from the
outbox arrives once; SMS text cannot inject headers or recipients; temporary refusals are
retried with backoff, permanent ones and the last attempt give up; an unreachable relay
blocks nothing; two senders on PostgreSQL deliver each mail once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from typing import Any

import pytest
from sqlalchemy import select

from gatewayd.config import MailSettings
from gatewayd.store import Database, outgoing_mail, utc_now
from tests.support.mail import Relay, running_relay
from tests.support.ports import free_port
from webui.mail.sender import MailSender, SenderPolicy, backoff
from webui.services.mail_outbox import queue_mail


@pytest.fixture
async def relay() -> AsyncIterator[tuple[Relay, int]]:
    async with running_relay() as running:
        yield running


def sender_for(db: Database, port: int, **policy: Any) -> MailSender:
    mail = MailSettings(host="127.0.0.1", port=port, sender="gateway@sms.example")
    return MailSender(db, mail, SenderPolicy(timeout=5, **policy))


async def queue(db: Database, *mails: tuple[str, str, str]) -> list[int]:
    async with db.begin() as conn:
        return [
            await queue_mail(conn, to=to, subject=subject, body=body, reason="test")
            for to, subject, body in mails
        ]


async def rows(db: Database) -> list[Any]:
    async with db.read() as conn:
        return list(await conn.execute(select(outgoing_mail).order_by(outgoing_mail.c.id)))


async def test_queued_mail_reaches_the_relay_once(db: Database, relay: tuple[Relay, int]) -> None:
    handler, port = relay
    await queue(db, ("ops@example.com", "Modem down", "sim0 offline"), ("b@example.com", "x", "y"))
    sender = sender_for(db, port)
    assert await sender.round() == 2
    assert await sender.round() == 0
    assert [e.rcpt_tos for e in handler.received] == [["ops@example.com"], ["b@example.com"]]
    first = message_from_bytes(handler.received[0].original_content or b"", policy=default)
    assert first["Subject"] == "Modem down" and first["From"] == "gateway@sms.example"
    assert first.get_content().strip() == "sim0 offline"
    assert all(row.sent_at is not None and row.attempts == 1 for row in await rows(db))


async def test_sms_text_cannot_inject_headers_or_recipients(
    db: Database, relay: tuple[Relay, int]
) -> None:
    handler, port = relay
    hostile_subject = "SMS from +5511\r\nBcc: victim@evil.example\r\n\r\nfake body\nTo: x@evil"
    hostile_body = "line one\r\n.\r\nMAIL FROM:<x@evil>\r\nRCPT TO:<y@evil>\r\nDATA\r\nÀçãõ"
    await queue(db, ("ops@example.com", hostile_subject, hostile_body))
    await sender_for(db, port).round()
    [envelope] = handler.received
    assert envelope.rcpt_tos == ["ops@example.com"]
    message = message_from_bytes(envelope.original_content or b"", policy=default)
    assert message.get_all("Bcc") is None and message.get_all("To") == ["ops@example.com"]
    assert "\n" not in message["Subject"] and "victim@evil.example" in message["Subject"]
    body = message.get_content()
    assert "MAIL FROM:<x@evil>" in body and "\n.\n" in body.replace("\r\n", "\n")
    assert body.rstrip().endswith("Àçãõ")


async def test_temporary_refusals_are_retried_with_backoff(
    db: Database, relay: tuple[Relay, int]
) -> None:
    handler, port = relay
    handler.answer = "451 4.3.0 try later"
    await queue(db, ("ops@example.com", "s", "b"))
    sender = sender_for(db, port, backoff_base=60, max_attempts=3)
    before = utc_now()
    assert await sender.round() == 1
    [row] = await rows(db)
    assert row.sent_at is None and row.failed_at is None and row.attempts == 1
    assert "451" in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=60)
    assert await sender.round() == 0  # not due yet
    handler.answer = "250 OK"
    assert await sender.round(now=row.next_attempt_at) == 1
    [row] = await rows(db)
    assert row.sent_at is not None and row.attempts == 2 and len(handler.received) == 1
    assert backoff(1, sender.policy) == 60 and backoff(3, sender.policy) == 240


async def test_permanent_refusal_and_the_last_attempt_give_up(
    db: Database, relay: tuple[Relay, int]
) -> None:
    handler, port = relay
    handler.answer = "550 5.7.1 no"
    await queue(db, ("ops@example.com", "s", "b"))
    sender = sender_for(db, port, max_attempts=2)
    await sender.round()
    [row] = await rows(db)
    assert row.failed_at is not None and row.attempts == 1 and "550" in row.last_error
    handler.answer = "421 4.3.2 busy"
    await queue(db, ("ops@example.com", "s2", "b2"))
    await sender.round()
    second = (await rows(db))[1]
    await sender.round(now=second.next_attempt_at)
    second = (await rows(db))[1]
    assert second.failed_at is not None and second.attempts == 2
    assert await sender.round(now=utc_now() + timedelta(days=1)) == 0


async def test_an_unreachable_relay_blocks_nothing(db: Database) -> None:
    await queue(db, ("ops@example.com", "s", "b"))
    sender = sender_for(db, free_port())
    assert await asyncio.wait_for(sender.round(), 10) == 1
    [row] = await rows(db)
    assert row.sent_at is None and row.failed_at is None and row.last_error


async def test_two_senders_deliver_each_mail_once(pg_url: str, relay: tuple[Relay, int]) -> None:
    handler, port = relay
    db = Database(pg_url)
    try:
        await queue(db, *[(f"user{i}@example.com", f"s{i}", "b") for i in range(40)])
        first, second = sender_for(db, port, batch=5), sender_for(db, port, batch=5)

        async def drain(sender: MailSender) -> None:
            while await sender.round():
                pass

        await asyncio.wait_for(asyncio.gather(drain(first), drain(second)), 60)
        delivered = sorted(e.rcpt_tos[0] for e in handler.received)
        assert delivered == sorted(f"user{i}@example.com" for i in range(40))
        assert all(row.attempts == 1 for row in await rows(db))
    finally:
        await db.close()
