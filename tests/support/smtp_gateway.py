"""The email-to-SMS server on a real database for the tests: the fixture :func:`smtp_gateway`
(imported by the conftest of each tier that uses it) starts it (STARTTLS with a
certificate made for the test, allow-lists as a test asks) and gives the test its port, the
database and an account with an operator key."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from gatewayd.bus import InProcessBus
from gatewayd.config import ListenAddress, SmtpSettings
from gatewayd.store import Database, accounts, messages, utc_now
from tests.integration.web.conftest import settings_for
from tests.support.mail import self_signed, trusting
from webui.auth.apikeys import create_api_key
from webui.smtp.runtime import RunningSmtp, start_smtp


@dataclass
class SmtpGateway:
    running: RunningSmtp
    db: Database
    cert: Path
    account_name: str
    account_id: int
    key: str
    """An operator key of the account."""
    viewer_key: str

    @property
    def port(self) -> int:
        return self.running.port

    def client(self) -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test", timeout=30)
        client.ehlo()
        return client

    def tls_client(self) -> smtplib.SMTP:
        client = self.client()
        context = trusting(self.cert)
        context.check_hostname = False
        client.starttls(context=context)
        client.ehlo()
        return client

    def context(self) -> ssl.SSLContext:
        return trusting(self.cert)

    async def queued(self) -> list[Any]:
        async with self.db.read() as conn:
            query = select(
                messages.c.recipient, messages.c.text, messages.c.account_id, messages.c.created_by
            ).order_by(messages.c.id)
            return list(await conn.execute(query))


Starter = Callable[..., Awaitable[SmtpGateway]]


@pytest.fixture
async def smtp_gateway(db: Database, db_url: str, tmp_path: Path) -> AsyncIterator[Starter]:
    started: list[RunningSmtp] = []
    cert, key = self_signed(tmp_path)

    async def start(**smtp: Any) -> SmtpGateway:
        settings = settings_for(db_url, SMSGW_DEFAULT_REGION="BR")
        options = SmtpSettings(
            listen=ListenAddress("127.0.0.1", 0), tls_certificate=cert, tls_key=key
        )
        settings = replace(settings, smtp=replace(options, **smtp))
        async with db.begin() as conn:
            account_id = (
                await conn.execute(
                    insert(accounts)
                    .values(name="ERP", name_key="erp", created_at=utc_now(), created_by="test")
                    .returning(accounts.c.id)
                )
            ).scalar_one()
            operator = await create_api_key(conn, "erp-mail", "operator", account_id=account_id)
            viewer = await create_api_key(conn, "erp-view", "viewer", account_id=account_id)
        running = await start_smtp(settings, db, InProcessBus())
        started.append(running)
        return SmtpGateway(running, db, cert, "ERP", account_id, operator.key, viewer.key)

    try:
        yield start
    finally:
        for running in started:
            await running.stop()


async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking smtplib exchange off the loop (the server runs on it)."""
    return await asyncio.wait_for(asyncio.to_thread(function, *args), 60)
