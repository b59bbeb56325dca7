"""SMTP AUTH lockout with smtplib, on PostgreSQL and SQLite: failed AUTH is counted like a
failed sign-in or SMPP bind (:mod:`webui.auth.throttle`, kind ``smtp``); past the limit the
client's address is answered ``454 4.7.0`` for that account — the right key included — while
another account from the same address, or a success before the limit, is unaffected."""

from __future__ import annotations

import smtplib

from sqlalchemy import func, select

from gatewayd.store import auth_failures
from tests.support.smtp_gateway import Starter, in_thread
from webui.options import WebOptions

WRONG = "smsgw_" + "x" * 43


def login(client: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN once (``login()`` would try LOGIN after a refused PLAIN: two failures)."""
    client.user, client.password = user, password
    client.auth("PLAIN", client.auth_plain)


async def test_repeated_failed_auth_locks_the_pair_out_with_454(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway()
    limit = WebOptions.pair_failure_limit

    def attempts() -> list[tuple[int, bytes]]:
        answers: list[tuple[int, bytes]] = []
        with gateway.tls_client() as client:
            for password in [WRONG] * limit + [gateway.key]:
                try:
                    login(client, "erp", password)
                    answers.append((235, b""))
                except smtplib.SMTPAuthenticationError as exc:
                    answers.append((exc.smtp_code, exc.smtp_error))
        return answers

    answers = await in_thread(attempts)
    assert [code for code, _ in answers[:limit]] == [535] * limit
    code, text = answers[-1]
    assert code == 454, answers
    assert b"4.7.0" in text and b"locked out" in text.lower()
    async with gateway.db.read() as conn:
        counted = (
            await conn.execute(select(func.count()).where(auth_failures.c.kind == "smtp"))
        ).scalar_one()
    assert counted == limit


async def test_a_success_before_the_limit_forgets_the_failures(smtp_gateway: Starter) -> None:
    gateway = await smtp_gateway()
    limit = WebOptions.pair_failure_limit

    def attempts() -> list[int]:
        codes: list[int] = []
        for password in (
            [WRONG] * (limit - 1) + [gateway.key] + [WRONG] * (limit - 1) + [gateway.key]
        ):
            with gateway.tls_client() as client:
                try:
                    login(client, "erp", password)
                    codes.append(235)
                except smtplib.SMTPAuthenticationError as exc:
                    codes.append(exc.smtp_code)
        return codes

    codes = await in_thread(attempts)
    assert codes == [535] * (limit - 1) + [235] + [535] * (limit - 1) + [235], codes
