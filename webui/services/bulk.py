"""What an operator does to many chosen messages at once: cancel those still queued, send
failed ones again, delete finished ones. Each action says what it did and what it left alone
(and why), and is audited.

Sending again never surprises anyone: a message whose outcome is ``unknown`` (it may well have
reached the phone) is sent again only when the operator confirmed exactly those messages
(:class:`NeedsConfirmation` names them otherwise), and the audit entry ``message.resend``
records which messages became which, and how many unknown ones were confirmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.bus import Bus
from gatewayd.events import EVENTS, MessageStatusChanged
from gatewayd.queue import CannotCancel, NewMessage, cancel
from gatewayd.store import Database, MessageStatus, messages, utc_now
from webui.audit import record
from webui.services.caller import Caller
from webui.services.errors import Invalid, ServiceError
from webui.services.sending import Prepared, Sending

MAX_CHOSEN = 500
"""Messages one bulk action may name."""

RESENDABLE = frozenset(
    {MessageStatus.FAILED, MessageStatus.EXPIRED, MessageStatus.CANCELLED, MessageStatus.UNKNOWN}
)
DELETABLE = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.EXPIRED,
        MessageStatus.CANCELLED,
        MessageStatus.UNKNOWN,
    }
)
"""Finished messages; queued ones are cancelled first, sending ones are left to finish."""


class NeedsConfirmation(ServiceError):
    """Some chosen messages are ``unknown``: they may have reached the phone already."""


@dataclass
class Outcome:
    done: list[int] = field(default_factory=list)
    """The messages acted on (for a resend: the new messages)."""
    skipped: list[int] = field(default_factory=list)
    """Chosen messages the action does not apply to (wrong status, gone)."""
    problems: list[dict[str, Any]] = field(default_factory=list)
    """Messages that could not be sent again (e.g. a number no longer valid)."""


def _chosen(ids: Sequence[int]) -> list[int]:
    unique = sorted(set(ids))
    if not unique:
        raise Invalid("nothing_chosen", "choose at least one message", "id")
    if len(unique) > MAX_CHOSEN:
        raise Invalid("too_many_chosen", f"at most {MAX_CHOSEN} messages at once", "id")
    return unique


async def _rows(conn: AsyncConnection, ids: Sequence[int]) -> list[Any]:
    return list((await conn.execute(select(messages).where(messages.c.id.in_(ids)))).all())


async def cancel_many(db: Database, bus: Bus, caller: Caller, ids: Sequence[int]) -> Outcome:
    """Cancel every chosen message that is still queued; each is audited."""
    outcome = Outcome()
    for message_id in _chosen(ids):
        async with db.begin() as conn:
            try:
                await cancel(conn, message_id, by=caller.actor)
            except CannotCancel:
                outcome.skipped.append(message_id)
                continue
            await record(
                conn,
                caller.actor,
                "message.cancel",
                f"message:{message_id}",
                {"bulk": True},
                caller.client_address,
            )
        outcome.done.append(message_id)
    for message_id in outcome.done:
        await bus.publish(
            EVENTS,
            MessageStatusChanged(id=message_id, status="cancelled", error=None, at=utc_now()),
        )
    return outcome


def _again(row: Any) -> NewMessage:
    return NewMessage(
        to=row.recipient,
        text=row.text,
        priority=row.priority,
        flash=row.flash,
        status_report=row.status_report,
        modem=row.modem,
        callback_url=row.callback_url,
        validity_minutes=row.validity_minutes,
    )


async def resend_many(
    sending: Sending, caller: Caller, ids: Sequence[int], *, confirm_unknown: Sequence[int] = ()
) -> Outcome:
    """Queue a new message for each chosen one that failed, expired, was cancelled or whose
    outcome is unknown; unknown ones only when listed in ``confirm_unknown``. The new messages
    share a batch; the old ones stay as they are."""
    chosen = _chosen(ids)
    async with sending.db.read() as conn:
        rows = await _rows(conn, chosen)
    unknown = sorted(r.id for r in rows if r.status == MessageStatus.UNKNOWN.value)
    unconfirmed = sorted(set(unknown) - set(confirm_unknown))
    if unconfirmed:
        raise NeedsConfirmation(
            "unknown_needs_confirmation",
            f"{len(unconfirmed)} of the chosen messages may have reached the phone already "
            "(their outcome is unknown): confirm sending them again",
            "id",
            unknown=unconfirmed,
        )
    outcome = Outcome(skipped=sorted(set(chosen) - {r.id for r in rows}))
    combined = Prepared()
    sources: list[int] = []
    for row in sorted(rows, key=lambda r: r.id):
        if row.status not in RESENDABLE:
            outcome.skipped.append(row.id)
            continue
        try:
            one = await sending.validate(_again(row), [row.recipient], skip_invalid=False)
        except ServiceError as exc:
            outcome.problems.append(
                {"id": row.id, "to": row.recipient, "code": exc.code, "message": exc.message}
            )
            continue
        combined.messages.extend(one.messages)
        sources.append(row.id)
    if not combined.messages:
        return outcome

    async def audit_resend(conn: AsyncConnection, new_ids: list[int]) -> None:
        await record(
            conn,
            caller.actor,
            "message.resend",
            f"message:{new_ids[0]}" if len(new_ids) == 1 else f"batch:{new_ids[0]}",
            {
                "from": sources,
                "as": new_ids,
                "unknown_confirmed": len(set(unknown) & set(sources)),
            },
            caller.client_address,
        )

    new_ids, _created = await sending.queue_prepared(caller, combined, key=None, extra=audit_resend)
    outcome.done = new_ids
    return outcome


async def delete_many(db: Database, caller: Caller, ids: Sequence[int]) -> Outcome:
    """Delete the chosen messages that are finished (with their parts and timeline)."""
    chosen = _chosen(ids)
    finished = [status.value for status in DELETABLE]
    async with db.begin() as conn:
        result = await conn.execute(
            delete(messages)
            .where(messages.c.id.in_(chosen), messages.c.status.in_(finished))
            .returning(messages.c.id)
        )
        done = sorted(row.id for row in result)
        if done:
            await record(
                conn,
                caller.actor,
                "message.delete",
                f"message:{done[0]}" if len(done) == 1 else None,
                {"ids": done},
                caller.client_address,
            )
    return Outcome(done=done, skipped=sorted(set(chosen) - set(done)))
