"""Email to SMS with Python's smtplib as the client, on PostgreSQL and SQLite: AUTH over
STARTTLS with a certificate made for the test, the allow-listed network and senders, and the
refusals (no AUTH, AUTH without TLS, a wrong or viewer key, bad recipients, too many
recipients, a mail too big, a text too long, a quota used up)."""

from __future__ import annotations

import base64
import smtplib

import pytest
from sqlalchemy import insert, update

from gatewayd.store import accounts, suppressions, utc_now
from tests.support.mail import mail
from tests.support.smtp_gateway import Starter, in_thread

NUMBER = "+5511987654321"
OTHER = "+5511987654322"


async def test_an_authenticated_mail_becomes_one_sms_per_recipient(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway()
    message = mail(
        [f"{NUMBER}@sms.example", "5511987654322@sms.example"],
        "Server down",
        "db1 is not answering.\n\n> earlier mail\n-- \nOps team\n+55 11 5555-0000",
    )

    def send() -> dict[str, tuple[int, bytes]]:
        with gateway.tls_client() as client:
            client.login("erp", gateway.key)
            return client.send_message(message)

    assert await in_thread(send) == {}
    rows = await gateway.queued()
    assert [row.recipient for row in rows] == [NUMBER, OTHER]
    assert {row.text for row in rows} == {"Server down\ndb1 is not answering."}
    assert {row.account_id for row in rows} == {gateway.account_id}
    assert all(row.created_by.startswith("api_key:") for row in rows)


async def test_auth_is_not_offered_before_starttls(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway()

    def attempt() -> tuple[bool, int]:
        with gateway.client() as client:
            offered = client.has_extn("auth")
            plain = base64.b64encode(f"\0erp\0{gateway.key}".encode()).decode()
            code, _ = client.docmd("AUTH", f"PLAIN {plain}")
            return offered, code

    offered, code = await in_thread(attempt)
    assert not offered
    assert code == 538


@pytest.mark.parametrize("which", ["wrong", "viewer", "other_user"])
async def test_wrong_credentials_are_535_and_send_nothing(
    smtp_gateway: Starter, which: str
) -> None:
    gateway = await smtp_gateway()
    user, password = {
        "wrong": ("erp", "smsgw_" + "x" * 43),
        "viewer": ("erp", gateway.viewer_key),
        "other_user": ("someone", gateway.key),
    }[which]

    def attempt() -> int:
        with gateway.tls_client() as client:
            try:
                client.login(user, password)
            except smtplib.SMTPAuthenticationError as exc:
                code, _ = client.mail("erp@example.com")
                assert code == 530
                return exc.smtp_code
            return 235

    assert await in_thread(attempt) == 535
    assert await gateway.queued() == []


async def test_without_auth_or_allow_list_mail_from_is_530(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway()

    def attempt() -> tuple[int, bytes]:
        with gateway.tls_client() as client:
            try:
                client.sendmail("erp@example.com", [f"{NUMBER}@x.example"], b"Subject: hi\r\n\r\n")
            except smtplib.SMTPSenderRefused as exc:
                return exc.smtp_code, exc.smtp_error
            return 250, b""

    code, text = await in_thread(attempt)
    assert code == 530 and b"5.7.0" in text


async def test_an_allow_listed_network_sends_without_auth(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",))

    def send() -> dict[str, tuple[int, bytes]]:
        with gateway.client() as client:
            return client.send_message(mail([f"11987654321@{'sms.example'}"], "", "Backup ok"))

    assert await in_thread(send) == {}
    rows = await gateway.queued()
    assert [(r.recipient, r.text, r.account_id) for r in rows] == [(NUMBER, "Backup ok", None)]
    assert rows[0].created_by == "smtp:erp@example.com"


async def test_allow_listed_senders_must_match_with_the_network(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway(
        allowed_networks=("127.0.0.0/8",), allowed_senders=("@ops.example",), account="erp"
    )

    def attempt(sender: str) -> int:
        with gateway.client() as client:
            try:
                client.sendmail(sender, [f"{NUMBER}@x"], b"Subject: disk\r\n\r\nfull\r\n")
            except smtplib.SMTPSenderRefused as exc:
                return exc.smtp_code
            return 250

    assert await in_thread(attempt, "nagios@elsewhere.example") == 530
    assert await in_thread(attempt, "nagios@ops.example") == 250
    rows = await gateway.queued()
    assert [(r.text, r.account_id) for r in rows] == [("disk\nfull", gateway.account_id)]


async def test_recipients_that_are_not_numbers_are_550(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",))

    def attempt() -> dict[str, tuple[int, bytes]]:
        with gateway.client() as client:
            return client.sendmail(
                "a@b.example",
                ["bob@x.example", "123@x.example", f"{NUMBER}@x.example"],
                b"Subject: hi\r\n\r\n",
            )

    refused = await in_thread(attempt)
    assert set(refused) == {"bob@x.example", "123@x.example"}
    assert {code for code, _ in refused.values()} == {550}
    assert [r.recipient for r in await gateway.queued()] == [NUMBER]


async def test_ten_thousand_recipients_get_452_past_the_limit(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",), max_recipients=100)
    recipients = [f"+55119{n:08d}@x.example" for n in range(10_000)]

    def attempt() -> dict[str, tuple[int, bytes]]:
        with gateway.client() as client:
            return client.sendmail("a@b.example", recipients, b"Subject: many\r\n\r\n")

    refused = await in_thread(attempt)
    assert len(refused) == 9_900
    assert {code for code, _ in refused.values()} == {452}
    assert b"4.5.3" in next(iter(refused.values()))[1]
    assert len(await gateway.queued()) == 100


async def test_a_50_mb_mail_is_refused_with_552_before_its_data(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",))
    big = b"Subject: big\r\n\r\n" + b"x" * (50 * 1024 * 1024)

    def attempt() -> tuple[int, bool]:
        with gateway.client() as client:
            assert client.has_extn("size")
            try:
                client.sendmail("a@b.example", [f"{NUMBER}@x"], big)
            except smtplib.SMTPSenderRefused as exc:
                return exc.smtp_code, client.noop()[0] == 250
            return 250, True

    assert await in_thread(attempt) == (552, True)
    assert await gateway.queued() == []


async def test_data_past_the_size_limit_without_size_is_552(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",), max_message_size=64 * 1024)

    def attempt() -> int:
        with gateway.client() as client:
            client.mail("a@b.example")
            client.rcpt(f"{NUMBER}@x")
            code, _ = client.data(b"Subject: big\r\n\r\n" + (b"y" * 98 + b"\r\n") * 2000)
            return code

    assert await in_thread(attempt) == 552
    assert await gateway.queued() == []


async def test_a_text_over_the_cap_is_refused_not_truncated(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",), max_text_length=50)

    def attempt() -> tuple[int, bytes]:
        with gateway.client() as client:
            try:
                client.send_message(mail([f"{NUMBER}@x"], "long", "z" * 60))
            except smtplib.SMTPDataError as exc:
                return exc.smtp_code, _as_bytes(exc.smtp_error)
            return 250, b""

    code, text = await in_thread(attempt)
    assert code == 552 and b"5.3.4" in text and b"at most 50" in text
    assert await gateway.queued() == []


async def test_the_same_message_id_sent_twice_is_sent_once(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",))
    message = mail([f"{NUMBER}@x"], "once", "", message_id="<abc@erp.example>")

    def send() -> None:
        with gateway.client() as client:
            client.send_message(message)
            client.send_message(message)

    await in_thread(send)
    assert [r.text for r in await gateway.queued()] == ["once"]


async def test_a_used_up_quota_is_a_temporary_452(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway()
    async with gateway.db.begin() as conn:
        await conn.execute(
            update(accounts).where(accounts.c.id == gateway.account_id).values(daily_quota=1)
        )

    def attempt() -> tuple[int, bytes]:
        with gateway.tls_client() as client:
            client.login("erp", gateway.key)
            try:
                client.send_message(mail([f"{NUMBER}@x", f"{OTHER}@x"], "two"))
            except smtplib.SMTPDataError as exc:
                return exc.smtp_code, _as_bytes(exc.smtp_error)
            return 250, b""

    code, text = await in_thread(attempt)
    assert code == 452 and b"quota" in text
    assert await gateway.queued() == []


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


async def test_opted_out_recipients_are_refused_and_the_others_sent(
    smtp_gateway: Starter,
) -> None:
    gateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",))
    async with gateway.db.begin() as conn:
        await conn.execute(
            insert(suppressions).values(
                number=OTHER, kind="opt_out", source="sms", created_at=utc_now(), created_by="t"
            )
        )

    def attempt() -> dict[str, tuple[int, bytes]]:
        with gateway.client() as client:
            return client.send_message(mail([f"{NUMBER}@x", f"{OTHER}@x"], "promo"))

    refused = await in_thread(attempt)
    assert list(refused) == [f"{OTHER}@x"]
    code, text = refused[f"{OTHER}@x"]
    assert code == 550 and b"5.7.1 opted_out" in text
    assert [r.recipient for r in await gateway.queued()] == [NUMBER]


async def test_a_recipient_opted_out_between_rcpt_and_data_refuses_the_mail(
    smtp_gateway: Starter,
) -> None:
    """The queue's own check, in the transaction that would write the messages."""
    gateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",))
    client = await in_thread(gateway.client)
    try:

        def envelope() -> list[int]:
            client.mail("erp@example.com")
            return [client.rcpt(f"{n}@x")[0] for n in (NUMBER, OTHER)]

        assert await in_thread(envelope) == [250, 250]
        async with gateway.db.begin() as conn:
            await conn.execute(
                insert(suppressions).values(
                    number=OTHER, kind="opt_out", source="sms", created_at=utc_now(), created_by="t"
                )
            )
        code, text = await in_thread(client.data, b"Subject: promo\r\n\r\nsale\r\n")
    finally:
        await in_thread(client.close)
    assert code == 550 and b"5.7.1 opted_out" in text
    assert await gateway.queued() == []
