"""Taking over the work of a gatewayd host whose lease expired.

One transaction per dead host, run by a surviving host (:mod:`gatewayd.service.lease`):

1. the dead host's lease row is locked ``FOR UPDATE`` (``SKIP LOCKED``: a row that another
   survivor is taking over, or that a transaction of the dead host still holds, is left for
   the next round) and marked ``taken_over``: from then on every transaction of that host
   finds its lease gone (:func:`gatewayd.queue.lease.guard`) and writes nothing;
2. its parts still ``sending`` become ``unknown`` (it may have written them: never resent
   without the operator), and the messages it had claimed go back to the queue
   (:func:`~gatewayd.queue.claim.recover_after_crash`); those with nothing left to send are
   settled by their parts;
3. its modems are marked offline;
4. queued messages bound to its modems follow the policy: ``wait`` for the host, or
   ``failover`` — a message none of whose parts has left (its recipient would otherwise get
   one text from two numbers) loses its modem binding and goes to any modem;
5. the takeover is recorded in ``host_takeovers``, the audit log (``host.taken_over``) and
   the timeline of every message it touched.

The caller logs it, counts it and publishes the events after the commit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.config import BoundMessages
from gatewayd.queue.claim import recover_after_crash
from gatewayd.queue.lease import clock, expired
from gatewayd.queue.progress import StatusChange, record_events
from gatewayd.store import (
    HostState,
    MessageStatus,
    PartStatus,
    audit_log,
    gateway_hosts,
    host_takeovers,
    message_parts,
    messages,
    modems,
)

TAKEN_OVER = "taken_over"
"""The timeline event of a message whose claim or modem binding a takeover changed."""


@dataclass(frozen=True)
class DeadHost:
    host: str
    epoch: int
    modems: tuple[str, ...]
    expires_at: datetime | None


@dataclass(frozen=True)
class Takeover:
    host: str
    epoch: int
    by: str
    unknown_parts: int
    unknown_message_ids: tuple[int, ...]
    requeued_messages: int
    failed_over: tuple[int, ...]
    waiting: int
    modems: tuple[str, ...]
    changes: tuple[StatusChange, ...]
    """Status changes of the messages it had claimed (to publish)."""


async def dead_hosts(conn: AsyncConnection, *, me: str) -> list[DeadHost]:
    """Hosts other than ``me`` whose lease expired, locked for this transaction; those another
    transaction holds (being taken over, or a transaction of their own not yet ended) are
    skipped."""
    rows = await conn.execute(
        select(
            gateway_hosts.c.host,
            gateway_hosts.c.epoch,
            gateway_hosts.c.modems,
            gateway_hosts.c.expires_at,
        )
        .where(expired(conn), gateway_hosts.c.host != me)
        .order_by(gateway_hosts.c.host)
        .with_for_update(skip_locked=True)
    )
    return [
        DeadHost(row.host, int(row.epoch), tuple(str(m) for m in row.modems or ()), row.expires_at)
        for row in rows
    ]


async def take_over(
    conn: AsyncConnection,
    dead: DeadHost,
    *,
    by: str,
    policy: BoundMessages,
    now: datetime,
) -> Takeover:
    """Take over ``dead``'s work (see the module docstring); ``dead`` was locked by
    :func:`dead_hosts` in this transaction."""
    await conn.execute(
        update(gateway_hosts)
        .where(gateway_hosts.c.host == dead.host)
        .values(
            state=HostState.TAKEN_OVER.value,
            taken_over_by=by,
            taken_over_at=clock(conn),
        )
    )
    reason = f"host {dead.host} lost its lease; {by} took over"
    recovery = await recover_after_crash(
        conn,
        host=dead.host,
        now=now,
        error=f"{reason}: the part may have been sent",
        detail=f"{reason} while the part was with the modem",
    )
    names = set(dead.modems) | await _modems_of(conn, dead.host)
    await conn.execute(
        update(modems)
        .where(modems.c.name.in_(sorted(names)), modems.c.host == dead.host)
        .values(state="offline", error=f"{reason}", updated_at=now)
    )
    failed_over: list[int] = []
    if policy == "failover":
        failed_over = await fail_over_bound(conn, names, reason=reason, now=now)
    waiting = await bound_waiting(conn, names)
    takeover = Takeover(
        host=dead.host,
        epoch=dead.epoch,
        by=by,
        unknown_parts=recovery.unknown_parts,
        unknown_message_ids=recovery.unknown_message_ids,
        requeued_messages=recovery.requeued_messages,
        failed_over=tuple(failed_over),
        waiting=waiting,
        modems=tuple(sorted(names)),
        changes=recovery.changes,
    )
    await _record(conn, takeover, now=now)
    return takeover


async def _modems_of(conn: AsyncConnection, host: str) -> set[str]:
    rows = await conn.execute(select(modems.c.name).where(modems.c.host == host))
    return {row.name for row in rows}


def _bound_to(names: Collection[str]) -> Any:
    listed = sorted(names)
    return or_(messages.c.modem.in_(listed), messages.c.assigned_modem.in_(listed))


async def fail_over_bound(
    conn: AsyncConnection, names: Collection[str], *, reason: str, now: datetime
) -> list[int]:
    """Queued messages bound to the modems ``names`` none of whose parts has left: their
    binding is dropped, so any modem takes them. Their ids."""
    if not names:
        return []
    handed_over = exists().where(
        message_parts.c.message_id == messages.c.id,
        message_parts.c.status != PartStatus.QUEUED.value,
    )
    moved = await conn.execute(
        update(messages)
        .where(
            messages.c.status == MessageStatus.QUEUED.value,
            _bound_to(names),
            ~handed_over,
        )
        .values(modem=None, assigned_modem=None, updated_at=now)
        .returning(messages.c.id)
    )
    ids = sorted(row.id for row in moved)
    await record_events(
        conn,
        [
            {
                "b_message": message_id,
                "b_seq": None,
                "b_status": TAKEN_OVER,
                "b_detail": f"{reason}: its modem is gone, any modem may send it",
                "b_modem": None,
                "b_now": now,
            }
            for message_id in ids
        ],
    )
    return ids


async def bound_waiting(conn: AsyncConnection, names: Collection[str]) -> int:
    """Queued messages that only a modem of ``names`` may send."""
    if not names:
        return 0
    count = await conn.execute(
        select(func.count()).where(
            messages.c.status == MessageStatus.QUEUED.value, _bound_to(names)
        )
    )
    return int(count.scalar_one())


async def modems_of_taken_over_hosts(conn: AsyncConnection) -> set[str]:
    """The modems of every host whose work was taken over and that has not come back."""
    rows = await conn.execute(
        select(gateway_hosts.c.host, gateway_hosts.c.modems).where(
            gateway_hosts.c.state == HostState.TAKEN_OVER.value
        )
    )
    found = rows.all()
    names: set[str] = {str(m) for row in found for m in row.modems or ()}
    for row in found:
        names |= await _modems_of(conn, row.host)
    return names


async def _record(conn: AsyncConnection, takeover: Takeover, *, now: datetime) -> None:
    await conn.execute(
        insert(host_takeovers).values(
            host=takeover.host,
            epoch=takeover.epoch,
            by_host=takeover.by,
            at=now,
            unknown_parts=takeover.unknown_parts,
            requeued_messages=takeover.requeued_messages,
            failed_over=len(takeover.failed_over),
            waiting=takeover.waiting,
        )
    )
    await conn.execute(
        insert(audit_log).values(
            at=now,
            actor=f"gatewayd:{takeover.by}"[:100],
            action="host.taken_over",
            target=f"host:{takeover.host}"[:200],
            detail={
                "epoch": takeover.epoch,
                "modems": list(takeover.modems),
                "unknown_parts": takeover.unknown_parts,
                "unknown_messages": list(takeover.unknown_message_ids[:100]),
                "requeued_messages": takeover.requeued_messages,
                "failed_over": len(takeover.failed_over),
                "waiting": takeover.waiting,
            },
        )
    )
    await record_events(conn, list(_timeline(takeover, now)))


def _timeline(takeover: Takeover, now: datetime) -> Iterable[dict[str, Any]]:
    detail = f"host {takeover.host} lost its lease; {takeover.by} took its claim over"
    for change in takeover.changes:
        yield {
            "b_message": change.message_id,
            "b_seq": None,
            "b_status": TAKEN_OVER,
            "b_detail": detail,
            "b_modem": None,
            "b_now": now,
        }
