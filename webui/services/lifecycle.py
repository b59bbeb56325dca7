"""What the web side tells of messages it queued: one INFO log line per request
(``"Message queued"`` with the id, or ``"Messages queued"`` with the count and the first and
last ids of a list), and a :class:`~gatewayd.events.MessagesQueued` live event, so an open
outbox adds them at once. gatewayd logs the later steps (sent with modem and reference,
delivered, failed)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import structlog

from gatewayd.bus import Bus
from gatewayd.events import EVENTS, MessagesQueued
from gatewayd.queue.enqueue import PreparedMessage

log = structlog.get_logger("webui.messages")
_level = logging.getLogger("webui.messages")
"""The standard logger that decides whether ``log``'s lines are kept (it caches the answer):
asked first, a line below the level is not even built (a few µs per queued message)."""


def log_queued(ids: Sequence[int], messages: Sequence[PreparedMessage], created_by: str) -> None:
    if not ids or not _level.isEnabledFor(logging.INFO):
        return
    if len(ids) == 1:
        message = messages[0]
        log.info(
            "Message queued",
            message_id=ids[0],
            to=message.recipient,
            parts=len(message.pdus),
            modem=message.request.modem,
            send_at=message.request.send_at.isoformat() if message.request.send_at else None,
            created_by=created_by,
        )
        return
    log.info(
        "Messages queued",
        count=len(ids),
        first_id=min(ids),
        last_id=max(ids),
        batch_id=ids[0],
        created_by=created_by,
    )


async def announce_queued(bus: Bus, ids: Sequence[int]) -> None:
    """Tell the live streams; a lost announcement only delays a list until its next change."""
    if not ids:
        return
    try:
        await bus.publish(
            EVENTS, MessagesQueued(first_id=min(ids), last_id=max(ids), count=len(ids))
        )
    except Exception:  # a hint for browsers, never a reason to fail a send
        log.exception("Announcing queued messages failed")
