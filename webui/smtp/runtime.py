"""Starting the email-to-SMS server on a process's settings, database and bus, and stopping
it: ``webui smtp`` and ``gatewayd run --web`` (with ``SMSGW_SMTP_LISTEN`` set) both call
:func:`start_smtp`.

::

    running = await start_smtp(settings, db, bus)   # listening
    ...
    await running.stop()                            # no new sessions; open ones end

It builds its own services (accounts, sending with its group commit and validation pool) on
the database and bus it is handed; what it opens, :meth:`RunningSmtp.stop` closes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import structlog

from gatewayd.bus import Bus
from gatewayd.config import Settings
from gatewayd.store import Database
from webui.auth.passwords import PasswordWork
from webui.auth.throttle import ThrottlePolicy
from webui.options import WebOptions
from webui.services.accounts import Accounts
from webui.services.group_commit import SendGroup
from webui.services.sending import Sending
from webui.services.throughput import create_buckets
from webui.services.validation_pool import ValidationPool
from webui.smtp.access import Access
from webui.smtp.handler import MailToSms
from webui.smtp.server import listen

log = structlog.get_logger("webui.smtp")

STOP_GRACE = 10.0


@dataclass
class RunningSmtp:
    server: asyncio.Server
    accounts: Accounts
    pool: ValidationPool
    password_work: PasswordWork

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.server.close()
        try:
            await asyncio.wait_for(self.server.wait_closed(), STOP_GRACE)
        except TimeoutError:
            log.warning("SMTP sessions still open at stop")
        self.pool.close()
        self.password_work.close()
        await self.accounts.close()


async def start_smtp(settings: Settings, db: Database, bus: Bus) -> RunningSmtp:
    """Listen on ``[smtp] listen`` (OSError or TlsError when that fails) until
    :meth:`RunningSmtp.stop`."""
    smtp = settings.smtp
    password_work = PasswordWork()
    throttle_policy = ThrottlePolicy(
        pair_limit=WebOptions.pair_failure_limit,
        address_limit=WebOptions.address_failure_limit,
        window=timedelta(minutes=WebOptions.failure_window_minutes),
    )
    accounts = Accounts(db, password_work, throttle_policy, create_buckets(settings.redis_url))
    pool = ValidationPool()
    sending = Sending(db, bus, settings, SendGroup(db, bus), pool, accounts)
    access = Access(smtp, db, throttle_policy)
    if not smtp.tls and not access.allow_lists:
        log.warning(
            "The SMTP server accepts no mail: set [smtp] tls_certificate and tls_key for AUTH "
            "or [smtp] allowed_networks / allowed_senders"
        )
    if smtp.reports != "off" and not settings.mail.enabled:
        log.warning(
            "[smtp] reports are on but no mail relay is set (SMSGW_MAIL_URL): the reports wait "
            "in the outbox until a web process with a relay sends them"
        )
    handler = MailToSms(
        sending,
        access,
        max_recipients=smtp.max_recipients,
        max_text_length=smtp.max_text_length,
        reports=smtp.reports,
    )
    try:
        server = await listen(smtp, handler, access)
    except BaseException:
        pool.close()
        password_work.close()
        await accounts.close()
        raise
    return RunningSmtp(server, accounts, pool, password_work)
