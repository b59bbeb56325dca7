"""The web UI inside ``gatewayd run --web``: served on the daemon's own database and bus,
with the SMPP server and the email-to-SMS server beside it when ``[smpp] listen``
(``SMSGW_SMPP_LISTEN``) and ``[smtp] listen`` (``SMSGW_SMTP_LISTEN``) are set.

Registered as the ``sms_gateway.embedded_web`` entry point (``pyproject.toml``), which is how the
daemon finds it (:mod:`gatewayd.service.embedded_web`) without importing the web. On a database
with no users it also creates the first admin with a generated password, printed once.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gatewayd.bus import Bus
from gatewayd.config import Settings
from gatewayd.store import Database
from webui.app import create_app
from webui.auth.passwords import generate_password
from webui.auth.users import create_user, list_users
from webui.server import start
from webui.smpp.runtime import RunningSmpp, start_smpp
from webui.smtp.runtime import RunningSmtp, start_smtp

FIRST_ADMIN = "admin"


@dataclass
class EmbeddedWeb:
    """The web UI and, when configured, the SMPP and email-to-SMS servers of
    ``gatewayd run --web``."""

    runner: web.AppRunner
    smpp: RunningSmpp | None = None
    smtp: RunningSmtp | None = None

    async def cleanup(self) -> None:
        try:
            if self.smtp is not None:
                await self.smtp.stop()
            if self.smpp is not None:
                await self.smpp.stop()
        finally:
            await self.runner.cleanup()


async def start_embedded_web(settings: Settings, db: Database, bus: Bus) -> EmbeddedWeb:
    """Serve the web UI and API on ``[web] listen`` (SMPP on ``[smpp] listen``, email to SMS
    on ``[smtp] listen``);
    ``cleanup()`` stops them."""
    app = create_app(settings, db=db, bus=bus)
    runner = await start(app, settings.web.listen)
    embedded = EmbeddedWeb(runner)
    try:
        if settings.smpp.enabled:
            embedded.smpp = await start_smpp(settings, db, bus)
        if settings.smtp.enabled:
            embedded.smtp = await start_smtp(settings, db, bus)
    except BaseException:
        await embedded.cleanup()
        raise
    # Only now that the web listens: a first admin's password printed before a failed start
    # would be lost with it.
    async with db.begin() as conn:
        if not await list_users(conn):
            password = generate_password()
            await create_user(conn, FIRST_ADMIN, "admin", password, must_change_password=True)
            print(f"first admin account: {FIRST_ADMIN} / {password}", flush=True)
    print(f"web UI at http://{settings.web.listen}/", flush=True)
    if embedded.smpp is not None:
        for host, port, tls in embedded.smpp.server.addresses:
            print(f"SMPP server on {host}:{port}{' (TLS)' if tls else ''}", flush=True)
    if settings.smtp.listen is not None:
        print(f"email to SMS on {settings.smtp.listen}", flush=True)
    return embedded
