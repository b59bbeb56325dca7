"""One INFO log line for each step of a message's life that gatewayd sees after it was queued
(the web side logs ``"Message queued"``): ``"Message sent"`` per part, with the modem and the
network's reference (logged by the send pipeline), then ``"Message delivered"``,
``"Message failed"``, ``"Message expired"`` or ``"Message outcome unknown"`` as the status
events say, and ``"Message received"`` for each SMS stored in the inbox."""

from __future__ import annotations

import structlog

from gatewayd.events import LiveEvent, MessageReceived, MessageStatusChanged

log = structlog.get_logger("gatewayd.messages")

STATUS_LINES = {
    "delivered": "Message delivered",
    "failed": "Message failed",
    "expired": "Message expired",
    "unknown": "Message outcome unknown",
    "cancelled": "Message cancelled",
}
"""The statuses worth a line of their own (``sent`` is logged per part, with its MR)."""


def log_event(event: LiveEvent) -> None:
    if isinstance(event, MessageStatusChanged):
        line = STATUS_LINES.get(event.status)
        if line is not None:
            log.info(line, message_id=event.id, status=event.status, error=event.error)
    elif isinstance(event, MessageReceived):
        log.info(
            "Message received",
            message_id=event.id,
            sender=event.sender,
            modem=event.modem,
            length=len(event.text),
        )
