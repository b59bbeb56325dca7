"""The mail sender: delivers the ``outgoing_mail`` outbox through the relay, with retries.

Several processes may run it at once: a round claims due rows with one ``UPDATE … WHERE id IN
(SELECT … FOR UPDATE SKIP LOCKED)`` that counts the attempt and moves ``next_attempt_at`` a
lease ahead, so another process skips them; a sent row gets ``sent_at``. A process that dies
between the relay's answer and that write sends the mail again once the lease is over
(at least once; the ``Message-ID`` stays the same so the copies are recognisable).

A temporary failure (4xx, connection refused, timeout) is retried after a backoff that doubles
from :attr:`SenderPolicy.backoff_base` up to its cap; a permanent one (5xx, an address that
is not plain) or the last attempt sets ``failed_at``. Nothing here is awaited by the message
pipeline: writers only insert rows (:func:`webui.services.mail_outbox.queue_mail`).

Each round first writes the report mails of the email-to-SMS server (:mod:`webui.mail.reports`)
into the outbox, so they are sent in the same round; a message reaching a final status on the
bus wakes the sender.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.bus import Bus
from gatewayd.config import MailSettings
from gatewayd.events import EVENTS, MessageStatusChanged
from gatewayd.store import Database, DatabaseUnavailable, outgoing_mail, utc_now
from webui.mail.message import build_mail
from webui.mail.reports import BATCH as REPORT_BATCH
from webui.mail.reports import READ as REPORTED_STATUSES
from webui.mail.reports import derive_reports
from webui.services.errors import Invalid

log = structlog.get_logger("webui.mail")


@dataclass(frozen=True)
class SenderPolicy:
    batch: int = 20
    lease: float = 300.0
    """Seconds a claimed mail is left to its process before another may take it."""
    max_attempts: int = 8
    backoff_base: float = 30.0
    backoff_cap: float = 3600.0
    timeout: float = 30.0
    """Seconds for one exchange with the relay."""
    poll_interval: float = 10.0
    commit_lag: float = 2.0
    """Seconds status events wait before reports are made of them (PostgreSQL; see
    :mod:`webui.mail.reports`)."""


async def claim_due(conn: AsyncConnection, now: datetime, policy: SenderPolicy) -> list[Any]:
    pending = outgoing_mail.c
    due = (
        select(pending.id)
        .where(pending.sent_at.is_(None), pending.failed_at.is_(None))
        .where(pending.next_attempt_at <= now)
        .order_by(pending.next_attempt_at, pending.id)
        .limit(policy.batch)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    result = await conn.execute(
        update(outgoing_mail)
        .where(pending.id.in_(due.scalar_subquery()))
        .values(
            next_attempt_at=now + timedelta(seconds=policy.lease),
            attempts=pending.attempts + 1,
        )
        .returning(pending.id, pending.to_address, pending.subject, pending.body, pending.attempts)
    )
    return sorted(result.all(), key=lambda row: row.id)


def backoff(attempts: int, policy: SenderPolicy) -> float:
    return float(min(policy.backoff_cap, policy.backoff_base * 2 ** max(0, attempts - 1)))


class PermanentFailure(Exception):
    pass


def _error_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class MailSender:
    def __init__(self, db: Database, mail: MailSettings, policy: SenderPolicy | None = None):
        self.db = db
        self.mail = mail
        self.policy = policy or SenderPolicy()
        self.wake = asyncio.Event()
        self.stopping = False

    def poke(self) -> None:
        self.wake.set()

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()

    async def run(self) -> None:
        while not self.stopping:
            try:
                busy = await self.round()
            except DatabaseUnavailable as exc:
                log.warning("Mail sender waiting for the database", reason=str(exc))
                busy = 0
            except Exception:
                log.exception("Mail sender round failed")
                busy = 0
            if busy or self.stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.policy.poll_interval)
            self.wake.clear()

    async def round(self, now: datetime | None = None) -> int:
        """Write the reports due, claim and deliver what is due; how many were claimed (more
        when reports are still to be read)."""
        lag = 0.0 if self.db.dialect_name == "sqlite" else self.policy.commit_lag
        async with self.db.begin() as conn:
            derived = await derive_reports(conn, now or utc_now(), lag)
        async with self.db.begin() as conn:
            claimed = await claim_due(conn, now or utc_now(), self.policy)
        for row in claimed:
            await self._deliver(row)
        return len(claimed) + (1 if derived.events >= REPORT_BATCH else 0)

    async def _deliver(self, row: Any) -> None:
        try:
            await self._send(row)
        except PermanentFailure as exc:
            await self._failed(row, str(exc), permanent=True)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            code = getattr(exc, "code", None)
            permanent = isinstance(code, int) and 500 <= code < 600
            await self._failed(row, _error_line(exc), permanent=permanent)
        else:
            async with self.db.begin() as conn:
                await conn.execute(
                    update(outgoing_mail)
                    .where(outgoing_mail.c.id == row.id)
                    .values(sent_at=utc_now(), last_error=None)
                )
            log.info("Mail sent", mail_id=row.id, attempts=row.attempts)

    async def _send(self, row: Any) -> None:
        mail = self.mail
        if mail.host is None or mail.sender is None:
            raise aiosmtplib.SMTPException("no mail relay configured (SMSGW_MAIL_URL)")
        try:
            message = build_mail(row.id, mail.sender, row.to_address, row.subject, row.body)
        except (Invalid, ValueError) as exc:
            raise PermanentFailure(f"cannot build the mail: {exc}") from None
        await aiosmtplib.send(
            message,
            sender=mail.sender,
            recipients=[row.to_address],
            hostname=mail.host,
            port=mail.port,
            username=mail.user,
            password=mail.password,
            use_tls=mail.security == "smtps",
            start_tls=True if mail.security == "smtp+starttls" else None,
            timeout=self.policy.timeout,
        )

    async def _failed(self, row: Any, error: str, *, permanent: bool) -> None:
        last = permanent or row.attempts >= self.policy.max_attempts
        now = utc_now()
        values: dict[str, Any] = {"last_error": error}
        if last:
            values["failed_at"] = now
        else:
            values["next_attempt_at"] = now + timedelta(seconds=backoff(row.attempts, self.policy))
        async with self.db.begin() as conn:
            await conn.execute(
                update(outgoing_mail).where(outgoing_mail.c.id == row.id).values(**values)
            )
        log.warning(
            "Mail not sent", mail_id=row.id, attempts=row.attempts, gave_up=last, error=error
        )


async def _wake_on_final_statuses(bus: Bus, sender: MailSender) -> None:
    subscription = bus.subscribe(EVENTS)
    try:
        async for event in subscription:
            if isinstance(event, MessageStatusChanged) and event.status in REPORTED_STATUSES:
                sender.poke()
    finally:
        bus.unsubscribe(subscription)


@contextlib.asynccontextmanager
async def running_sender(
    db: Database, mail: MailSettings, policy: SenderPolicy | None = None, bus: Bus | None = None
) -> AsyncIterator[MailSender]:
    """The sender, running until the block ends (it finishes the mail in hand first); with a
    ``bus``, woken by messages reaching a final status (their reports)."""
    sender = MailSender(db, mail, policy)
    task = asyncio.create_task(sender.run(), name="mail-sender")
    waker = (
        asyncio.create_task(_wake_on_final_statuses(bus, sender), name="mail-sender-wake")
        if bus is not None
        else None
    )
    try:
        yield sender
    finally:
        if waker is not None:
            waker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waker
        sender.stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), sender.policy.timeout + 5)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
