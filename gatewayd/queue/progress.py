"""How a message moves once claimed: parts handed to a modem, answered, failed, retried.

The at-most-once rule lives here: a part is committed as ``sending`` *before* its AT+CMGS is
written, so whatever happens next is known or visibly ``unknown``. A message's status is always
rolled up from its parts by :func:`roll_up`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from gatewayd.queue.lease import LEASE_HELD, LeaseRef
from gatewayd.store import (
    MessageStatus,
    PartStatus,
    message_events,
    message_parts,
    messages,
)

FINAL_PART_STATES = frozenset(
    {
        PartStatus.SENT,
        PartStatus.DELIVERED,
        PartStatus.FAILED,
        PartStatus.EXPIRED,
        PartStatus.UNKNOWN,
    }
)


def bound(name: str, column: Column[Any]) -> BindParameter[Any]:
    """A named parameter typed like ``column``, for statements built once and reused."""
    return bindparam(name, type_=column.type)


# The statements of every part sent are built once: building them per call (coercing every
# clause, computing the cache key) cost more CPU than running them.
_NOW = bound("b_now", messages.c.updated_at)
_PART_SENDING = (
    update(message_parts)
    .where(message_parts.c.id == bindparam("b_part"))
    .values(
        status=PartStatus.SENDING.value,
        modem=bound("b_modem", message_parts.c.modem),
        modem_imsi=bound("b_imsi", message_parts.c.modem_imsi),
        submitted_at=bound("b_now", message_parts.c.submitted_at),
        attempts=message_parts.c.attempts + 1,
        error=None,
    )
)
_ASSIGN_MODEM = (
    update(messages)
    .where(messages.c.id == bindparam("b_message"))
    .values(assigned_modem=bound("b_modem", messages.c.assigned_modem), updated_at=_NOW)
)
_PART_SENT = (
    update(message_parts)
    .where(message_parts.c.id == bindparam("b_part"))
    .values(
        status=PartStatus.SENT.value,
        mr=bound("b_mr", message_parts.c.mr),
        sent_at=bound("b_now", message_parts.c.sent_at),
    )
)
# The same, written only under the host's lease (see gatewayd.queue.lease.LEASE_HELD).
_PART_SENDING_HELD = _PART_SENDING.where(LEASE_HELD)
_ASSIGN_MODEM_HELD = _ASSIGN_MODEM.where(LEASE_HELD)
_PART_SENT_HELD = _PART_SENT.where(LEASE_HELD)
_EVENT = insert(message_events).values(
    message_id=bindparam("b_message"),
    part_seq=bound("b_seq", message_events.c.part_seq),
    status=bound("b_status", message_events.c.status),
    detail=bound("b_detail", message_events.c.detail),
    modem=bound("b_modem", message_events.c.modem),
    at=bound("b_now", message_events.c.at),
)
_MESSAGE_FOR_ROLL_UP = (
    select(messages.c.status, messages.c.error)
    .where(messages.c.id == bindparam("b_message"))
    .with_for_update(key_share=True)
)
_PARTS_FOR_ROLL_UP = select(
    message_parts.c.status, message_parts.c.sent_at, message_parts.c.delivered_at
).where(message_parts.c.message_id == bindparam("b_message"))


@dataclass(frozen=True)
class StatusChange:
    message_id: int
    status: str
    error: str | None = None


_WHOLE_SENDS = (
    update(messages)
    .where(
        messages.c.id.in_(bindparam("b_ids", expanding=True)),
        messages.c.status == MessageStatus.SENDING.value,
    )
    .values(status=MessageStatus.SENT.value, sent_at=_NOW, updated_at=_NOW, claimed_by=None)
    .returning(messages.c.id)
)
_WHOLE_SENDS_HELD = _WHOLE_SENDS.where(LEASE_HELD)


@dataclass(frozen=True)
class PartHandedOver:
    """A part about to be written to ``modem`` (see :func:`parts_sending`)."""

    part_id: int
    message_id: int
    modem: str
    imsi: str | None
    first_of_try: bool


def _under(lease: LeaseRef | None, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if lease is None:
        return rows
    held = lease.params()
    return [{**row, **held} for row in rows]


async def parts_sending(
    conn: AsyncConnection,
    parts: Sequence[PartHandedOver],
    *,
    now: datetime,
    lease: LeaseRef | None = None,
) -> None:
    """Record that the parts are about to be handed to their modems (commit before AT+CMGS);
    the first part of a try binds its message to the modem. With ``lease``, written only
    while that lease is held (:data:`~gatewayd.queue.lease.LEASE_HELD`)."""
    if not parts:
        return
    ordered = sorted(parts, key=lambda part: part.part_id)
    await conn.execute(
        _PART_SENDING if lease is None else _PART_SENDING_HELD,
        _under(
            lease,
            [
                {"b_part": x.part_id, "b_modem": x.modem, "b_imsi": x.imsi, "b_now": now}
                for x in ordered
            ],
        ),
    )
    firsts = [x for x in ordered if x.first_of_try]
    if firsts:
        await conn.execute(
            _ASSIGN_MODEM if lease is None else _ASSIGN_MODEM_HELD,
            _under(
                lease,
                [{"b_message": x.message_id, "b_modem": x.modem, "b_now": now} for x in firsts],
            ),
        )


async def parts_sent(
    conn: AsyncConnection,
    answers: Sequence[tuple[int, int]],
    *,
    now: datetime,
    lease: LeaseRef | None = None,
) -> None:
    """The modem answered ``+CMGS: <mr>``: the network has the part, for several ``(part id,
    MR)`` answers; the modems' daily counters are the caller's
    (:func:`gatewayd.queue.modem_state.count_sent`). With ``lease``, as :func:`parts_sending`."""
    if answers:
        await conn.execute(
            _PART_SENT if lease is None else _PART_SENT_HELD,
            _under(
                lease, [{"b_part": part, "b_mr": mr, "b_now": now} for part, mr in sorted(answers)]
            ),
        )


async def roll_up_whole_sends(
    conn: AsyncConnection,
    message_ids: Sequence[int],
    *,
    now: datetime,
    lease: LeaseRef | None = None,
) -> list[StatusChange]:
    """The roll-up of one-part messages whose only part was just sent through this claim:
    nothing else can have settled them, so the status follows without reading the parts;
    those something else settled first are rolled up from their parts."""
    if not message_ids:
        return []
    ordered = sorted(set(message_ids))
    params: dict[str, Any] = {"b_ids": ordered, "b_now": now}
    if lease is not None:
        params |= lease.params()
    result = await conn.execute(_WHOLE_SENDS if lease is None else _WHOLE_SENDS_HELD, params)
    sent = {row.id for row in result}
    if sent:
        await record_events(
            conn,
            [
                {
                    "b_message": i,
                    "b_seq": None,
                    "b_status": MessageStatus.SENT.value,
                    "b_detail": None,
                    "b_modem": None,
                    "b_now": now,
                }
                for i in sorted(sent)
            ],
        )
    changes = [StatusChange(i, MessageStatus.SENT.value) for i in ordered if i in sent]
    for message_id in ordered:
        if message_id not in sent:
            change = await roll_up(conn, message_id, now=now)
            if change is not None:
                changes.append(change)
    return changes


async def unprepare_part(conn: AsyncConnection, part_id: int) -> None:
    """A part committed ``sending`` but never written to the modem goes back to waiting, as if
    it had not been prepared."""
    await conn.execute(
        update(message_parts)
        .where(message_parts.c.id == part_id, message_parts.c.status == PartStatus.SENDING.value)
        .values(
            status=PartStatus.QUEUED.value,
            submitted_at=None,
            modem=None,
            modem_imsi=None,
            attempts=message_parts.c.attempts - 1,
        )
    )


async def unclaim(
    conn: AsyncConnection, message_id: int, *, now: datetime, keep_modem: bool
) -> None:
    """Give back a claim whose parts were prepared but never written to the modem: the message
    is queued again as if this try had not happened (its prepared part goes back with
    :func:`part_not_sent`)."""
    values: dict[str, object] = {
        "status": MessageStatus.QUEUED.value,
        "claimed_by": None,
        "claimed_at": None,
        "updated_at": now,
        "attempts": messages.c.attempts - 1,
    }
    if not keep_modem:
        values["assigned_modem"] = None
    await conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.status == MessageStatus.SENDING.value)
        .values(**values)
    )


async def part_unknown(
    conn: AsyncConnection, part_id: int, message_id: int, *, reason: str, now: datetime
) -> None:
    """The part was handed over and no verdict came: never resent on its own."""
    await conn.execute(
        update(message_parts)
        .where(message_parts.c.id == part_id)
        .values(status=PartStatus.UNKNOWN.value, error=reason)
    )
    await record_event(conn, message_id, PartStatus.UNKNOWN.value, reason, now=now)


async def part_not_sent(conn: AsyncConnection, part_id: int) -> None:
    """The modem refused the part before taking it: it goes back to waiting."""
    await conn.execute(
        update(message_parts)
        .where(message_parts.c.id == part_id)
        .values(status=PartStatus.QUEUED.value, submitted_at=None)
    )


async def retry_later(
    conn: AsyncConnection,
    message_id: int,
    *,
    delay: timedelta,
    reason: str,
    now: datetime,
    avoid_modem: str | None = None,
    keep_modem: bool,
) -> StatusChange:
    """Back to the queue, due again after ``delay``; optionally not on ``avoid_modem``."""
    values: dict[str, object] = {
        "status": MessageStatus.QUEUED.value,
        "claimed_by": None,
        "claimed_at": None,
        "next_attempt_at": now + delay,
        "error": reason,
        "updated_at": now,
    }
    if not keep_modem:
        values["assigned_modem"] = None
        values["avoid_modem"] = avoid_modem
    await conn.execute(update(messages).where(messages.c.id == message_id).values(**values))
    await record_event(conn, message_id, "retry", reason, now=now)
    return StatusChange(message_id, MessageStatus.QUEUED.value, reason)


async def fail_message(
    conn: AsyncConnection, message_id: int, *, reason: str, now: datetime
) -> StatusChange:
    """Give up: the parts not yet handed over fail with the message."""
    await conn.execute(
        update(message_parts)
        .where(
            message_parts.c.message_id == message_id,
            message_parts.c.status.in_((PartStatus.QUEUED.value, PartStatus.SENDING.value)),
        )
        .values(status=PartStatus.FAILED.value, error=reason)
    )
    await conn.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(status=MessageStatus.FAILED.value, error=reason, updated_at=now)
    )
    await record_event(conn, message_id, MessageStatus.FAILED.value, reason, now=now)
    return StatusChange(message_id, MessageStatus.FAILED.value, reason)


async def roll_up(conn: AsyncConnection, message_id: int, *, now: datetime) -> StatusChange | None:
    """Set the message's status from its parts once none is waiting; None when unchanged.

    The message row is locked first: two transactions settling two parts of one message at
    once (reports arriving together) would otherwise each see the other part unsettled, and
    neither would roll the message up. ``FOR NO KEY UPDATE`` does not wait for the key-share
    locks that inserting the message's events takes, so it cannot deadlock with them."""
    current = (await conn.execute(_MESSAGE_FOR_ROLL_UP, {"b_message": message_id})).one_or_none()
    if current is None:
        return None
    parts = (await conn.execute(_PARTS_FOR_ROLL_UP, {"b_message": message_id})).all()
    statuses = {row.status for row in parts}
    if not parts or statuses & {PartStatus.QUEUED.value, PartStatus.SENDING.value}:
        return None
    status = message_status_from_parts(statuses)
    if current.status == status:
        return None
    values: dict[str, object] = {"status": status, "updated_at": now, "claimed_by": None}
    sent_times = [row.sent_at for row in parts if row.sent_at is not None]
    if sent_times:
        values["sent_at"] = max(sent_times)
    if status == MessageStatus.DELIVERED.value:
        values["delivered_at"] = max(row.delivered_at or now for row in parts)
        values["error"] = None
    await conn.execute(update(messages).where(messages.c.id == message_id).values(**values))
    await record_event(conn, message_id, status, None, now=now)
    return StatusChange(message_id, status, current.error if status == "failed" else None)


def message_status_from_parts(statuses: set[str]) -> str:
    """The message status that a set of settled part statuses adds up to."""
    for status in (
        MessageStatus.FAILED,
        MessageStatus.UNKNOWN,
        MessageStatus.EXPIRED,
        MessageStatus.SENT,
    ):
        if status.value in statuses:
            return status.value
    return MessageStatus.DELIVERED.value


async def record_event(
    conn: AsyncConnection,
    message_id: int,
    status: str,
    detail: str | None,
    *,
    now: datetime,
    part_seq: int | None = None,
    modem: str | None = None,
) -> None:
    await conn.execute(
        _EVENT,
        {
            "b_message": message_id,
            "b_seq": part_seq,
            "b_status": status,
            "b_detail": detail,
            "b_modem": modem,
            "b_now": now,
        },
    )


async def record_events(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Several events in one statement; each row has the parameters of :func:`record_event`'s
    statement (``b_message``, ``b_seq``, ``b_status``, ``b_detail``, ``b_modem``, ``b_now``)."""
    if rows:
        await conn.execute(_EVENT, list(rows))
