"""Hostile input to the email-to-SMS server, on PostgreSQL and SQLite: malformed MIME, binary
garbage, NUL and control characters, broken AUTH exchanges, overlong lines, a database that
goes away mid-session. Every case is one SMTP answer; the session (or the next one) goes on,
and nothing half done is left in the database."""

from __future__ import annotations

import asyncio
import base64
import smtplib
import socket
from pathlib import Path

import asyncpg
import pytest

from tests.support.smtp_gateway import SmtpGateway, Starter, in_thread, smtp_gateway

__all__ = ["smtp_gateway"]

NUMBER = "+5511987654321"

MALFORMED = [
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n'
    b"\r\nunterminated part with no closing boundary",
    b'Content-Type: multipart/alternative; boundary=""\r\n\r\n--\r\n--\r\n',
    b"Content-Type: text/plain; charset=x-unknown-8\r\nSubject: s\r\n\r\n\xff\xfe\xfd",
    b"Content-Transfer-Encoding: base64\r\nSubject: b64\r\n\r\n====!!!!****\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n=0",
    b"Subject: =?x-nonsense?B?////?= =?utf-8?Q?=FF=FE?=\r\n\r\nbody",
    b"Subject: " + b"A" * 900 + b"\r\n" + b" folded" * 100 + b"\r\n\r\nlong header",
    b"From: <<<@@@>>>\r\nTo: ,,,;;;\r\nSubject: addresses\r\n\r\nok",
    b"\x00\x00\x00 binary \x01\x02\x03\r\n\r\n\x00",
    b"Content-Type: text/html\r\n\r\n<scr<script>ipt>alert(1)</script><p>x" + b"<b>" * 5000,
    b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n'
    + b'--a\r\nContent-Type: multipart/mixed; boundary="a"\r\n\r\n' * 200,
    b"Subject: nul \x00 inside\r\n\r\ntext with NUL \x00 char",
]


def _noop_ok(client: smtplib.SMTP) -> bool:
    return client.noop()[0] == 250


@pytest.mark.parametrize("raw", MALFORMED, ids=[f"mime{i}" for i in range(len(MALFORMED))])
async def test_malformed_mime_is_one_answer_and_the_session_goes_on(
    smtp_gateway: Starter, raw: bytes
) -> None:
    gateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",))

    def attempt() -> tuple[int, bool]:
        with gateway.client() as client:
            client.mail("a@b.example")
            client.rcpt(f"{NUMBER}@x")
            code, _ = client.data(raw)
            return code, _noop_ok(client)

    code, alive = await in_thread(attempt)
    assert code in (250, 500, 552, 554) and alive  # 500: a line over 1,000 octets
    rows = await gateway.queued()
    assert len(rows) == (1 if code == 250 else 0)
    assert all("\x00" not in row.text for row in rows)


async def test_broken_auth_exchanges_are_refused_and_the_session_stays(
    smtp_gateway: Starter,
) -> None:
    gateway = await smtp_gateway()

    def attempt() -> list[int]:
        codes = []
        with gateway.tls_client() as client:
            for argument in (
                "PLAIN !!!notbase64",
                "PLAIN " + base64.b64encode(b"no-nuls-at-all").decode(),
                "PLAIN " + base64.b64encode(b"\0erp\0" + b"\xff" * 50).decode(),
                "PLAIN " + base64.b64encode(b"\0" + b"x" * 5000 + b"\0pw").decode(),
                "CRAM-MD5",
                "PLAIN a b c",
            ):
                codes.append(client.docmd("AUTH", argument)[0])
            codes.append(client.noop()[0])
        return codes

    codes = await in_thread(attempt)
    assert codes[:4] == [501, 501, 535, 500]  # 500: the line is over 1,000 octets
    assert codes[4] == 504 and codes[5] == 501 and codes[6] == 250


async def test_garbage_commands_and_overlong_lines_do_not_break_the_server(
    smtp_gateway: Starter,
) -> None:
    gateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",))

    def raw_session() -> bytes:
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
            sock.sendall(b"\x00\xff\xfe garbage\r\nEHLO x\r\n" + b"A" * 5000 + b"\r\n")
            sock.sendall(b"MAIL FROM:<\x00@x>\r\nRCPT TO:<\r\n\r\nQUIT\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
            return received

    answers = await in_thread(raw_session)
    assert b"221" in answers and b"Traceback" not in answers

    def afterwards() -> dict[str, tuple[int, bytes]]:
        with gateway.client() as client:
            return client.sendmail("a@b.example", [f"{NUMBER}@x"], b"Subject: still here\r\n\r\n")

    assert await in_thread(afterwards) == {}


async def _lose(gateway: SmtpGateway, pg_admin_url: str) -> str | None:
    """Make the database unreachable; the PostgreSQL database's name (to let it back)."""
    url = gateway.db.engine.url
    await gateway.db.engine.dispose()
    if gateway.db.dialect_name == "sqlite":
        assert url.database
        await asyncio.to_thread(Path(url.database).write_bytes, b"not a database" * 100)
        return None
    admin = await asyncpg.connect(pg_admin_url)
    try:
        await admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            url.database,
        )
    finally:
        await admin.close()
    return url.database


async def test_a_lost_database_is_a_temporary_451_never_a_250(
    smtp_gateway: Starter, pg_admin_url: str
) -> None:
    gateway: SmtpGateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",))
    lost = await _lose(gateway, pg_admin_url)

    def attempt() -> tuple[int, bytes, bool]:
        with gateway.client() as client:
            client.mail("a@b.example")
            code, text = client.rcpt(f"{NUMBER}@x")
            return code, text, _noop_ok(client)

    try:
        code, text, alive = await in_thread(attempt)
    finally:
        if lost is not None:
            admin = await asyncpg.connect(pg_admin_url)
            try:
                await admin.execute(f'ALTER DATABASE "{lost}" ALLOW_CONNECTIONS true')
            finally:
                await admin.close()
    assert code == 451 and alive
    assert text.startswith(b"4.3.0") and b"Error" not in text  # no exception text


async def test_a_database_lost_before_data_is_451_and_nothing_is_taken(
    smtp_gateway: Starter, pg_admin_url: str
) -> None:
    gateway: SmtpGateway = await smtp_gateway(allowed_networks=("127.0.0.0/8",))
    loop = asyncio.get_running_loop()
    lost: list[str | None] = []

    def attempt() -> tuple[int, bytes]:
        with gateway.client() as client:
            client.mail("a@b.example")
            assert client.rcpt(f"{NUMBER}@x")[0] == 250
            lost.append(
                asyncio.run_coroutine_threadsafe(_lose(gateway, pg_admin_url), loop).result()
            )
            code, text = client.data(b"Subject: db gone\r\n\r\n")
            return code, text

    try:
        code, text = await in_thread(attempt)
    finally:
        if lost and lost[0] is not None:
            admin = await asyncpg.connect(pg_admin_url)
            try:
                await admin.execute(f'ALTER DATABASE "{lost[0]}" ALLOW_CONNECTIONS true')
            finally:
                await admin.close()
    assert code == 451 and text.startswith(b"4.3.0") and b"Traceback" not in text
