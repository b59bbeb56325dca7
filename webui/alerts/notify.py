"""Sending an alert: a mail to each ``email_to`` address through the outbox
(:func:`~webui.services.mail_outbox.queue_mail`, delivered and retried by the mail sender)
and a delivery of ``alert.raised`` / ``alert.cleared`` to the ``webhook_url`` (delivered and
retried by the webhook dispatcher). Both are rows written in the transaction that takes the
alert's step, so an alert is sent once or not at all, and nothing waits for a mail server or
a receiver.

The mail's subject is the alert's text made one line by the outbox (text quoted from an SMS or
a modem cannot add a header); the body is plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import AlertKind, webhook_deliveries
from webui.alerts.decide import Step
from webui.alerts.settings import AlertSettings
from webui.services.mail_outbox import queue_mail

TITLES = {
    AlertKind.MODEM_OFFLINE: "Modem offline",
    AlertKind.MESSAGE_FAILED: "Messages failed",
    AlertKind.LOW_CREDIT: "SIM credit low",
    AlertKind.QUEUE_STUCK: "Queue not moving",
    AlertKind.DISK_FULL: "Disk nearly full",
}
PREFIX = {Step.RAISE: "ALERT", Step.REPEAT: "STILL", Step.CLEAR: "CLEARED"}
EVENTS = {Step.RAISE: "alert.raised", Step.REPEAT: "alert.raised", Step.CLEAR: "alert.cleared"}


@dataclass(frozen=True)
class AlertNews:
    """One step of one alert, as it is told."""

    kind: AlertKind
    subject: str
    step: Step
    text: str
    detail: dict[str, Any]
    at: datetime
    raised_at: datetime | None

    def payload(self) -> dict[str, Any]:
        return {
            "event": EVENTS[self.step],
            "kind": self.kind.value,
            "subject": self.subject,
            "repeat": self.step is Step.REPEAT,
            "text": self.text,
            "detail": self.detail,
            "raised_at": self.raised_at.isoformat() if self.raised_at else None,
            "at": self.at.isoformat(),
        }

    def mail_subject(self) -> str:
        return f"[SMS gateway] {PREFIX[self.step]} {TITLES[self.kind]}: {self.text}"

    def mail_body(self) -> str:
        lines = [
            f"{PREFIX[self.step]}: {TITLES[self.kind]} ({self.kind.value})",
            f"Subject: {self.subject}",
            "",
            self.text,
            "",
        ]
        lines += [f"{key}: {value}" for key, value in self.detail.items()]
        if self.raised_at is not None:
            lines.append(f"raised at: {self.raised_at.isoformat()}")
        lines.append(f"at: {self.at.isoformat()}")
        return "\n".join(lines) + "\n"


async def send(
    conn: AsyncConnection,
    news: AlertNews,
    channels: tuple[str, ...],
    settings: AlertSettings,
    *,
    mail_enabled: bool,
) -> list[str]:
    """Write the mail and webhook rows of ``news``; the channels actually used."""
    used: list[str] = []
    if "email" in channels and settings.email_to and mail_enabled:
        for address in settings.email_to:
            await queue_mail(
                conn,
                to=address,
                subject=news.mail_subject(),
                body=news.mail_body(),
                reason=f"alert:{news.kind.value}",
            )
        used.append("email")
    if "webhook" in channels and settings.webhook_url:
        await conn.execute(
            insert(webhook_deliveries).values(
                event=EVENTS[news.step],
                url=settings.webhook_url,
                payload=news.payload(),
                created_at=news.at,
                next_attempt_at=news.at,
            )
        )
        used.append("webhook")
    return used
