"""The send path's steps one at a time, as gatewayd runs them, for tests that need messages
in a given state: a modem's claim (:func:`~gatewayd.queue.claim_due` then
:func:`~gatewayd.queue.with_parts`, as a pipeline claims), a part committed ``sending`` and a
modem's answer recorded (the statements of :class:`~gatewayd.worker.recorder.SendRecorder`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue import ClaimedMessage, StatusChange, claim_due, with_parts
from gatewayd.queue import progress as p
from gatewayd.worker.recorder import Answered, Slot, record_answered


async def claim(
    conn: AsyncConnection,
    *,
    host: str,
    modem: str,
    now: datetime,
    prefixes: tuple[str, ...] = (),
    own_number: str | None = None,
    limit: int = 1,
) -> list[ClaimedMessage]:
    """Up to ``limit`` messages claimed for ``modem``, with their parts still to send."""
    rows = await claim_due(
        conn,
        host=host,
        modem=modem,
        prefixes=prefixes,
        own_number=own_number,
        now=now,
        limit=limit,
    )
    return await with_parts(conn, rows)


async def hand_over(
    conn: AsyncConnection,
    message: ClaimedMessage,
    index: int,
    *,
    modem: str,
    imsi: str | None,
    now: datetime,
) -> Slot:
    """Commit part ``index`` of ``message`` ``sending`` on ``modem`` (before its AT+CMGS)."""
    slot = Slot(message, index)
    handed = p.PartHandedOver(slot.part.id, message.id, modem, imsi, first_of_try=index == 0)
    await p.parts_sending(conn, [handed], now=now)
    return slot


async def answered(
    conn: AsyncConnection, slot: Slot, mr: int, *, modem: str, now: datetime
) -> StatusChange | None:
    """Record ``+CMGS: <mr>`` for ``slot``; the message's change when it was its last part."""
    changes = await record_answered(conn, [(modem, Answered(slot, mr))], now=now)
    return changes.get(slot.message.id)
