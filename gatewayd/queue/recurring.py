"""Running recurring sends that are due: each scheduled time enqueues once, whatever runs.

:func:`run_due` reads the due rows, and for each takes the run with a compare-and-set on
``next_run_at`` (``UPDATE … SET next_run_at = <following> WHERE id = … AND next_run_at =
<the time read>``): of several daemons, or of one that restarted in the middle, exactly one
update succeeds, and the messages, the history row (``recurring_runs``, unique per scheduled
time) and the new ``next_run_at`` commit together. A run missed while no daemon ran is done
once when one comes back (not once per missed time); the next time is counted from now.
Recipients are the numbers given and the members of the groups as they are at run time (a
deleted group counts no one); opted-out and blocked numbers are left out and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.enqueue import (
    NewMessage,
    PreparedMessage,
    QueueRequest,
    RecipientProblem,
    enqueue_requests,
    prepare_many,
)
from gatewayd.queue.schedule import InvalidSchedule, parse_schedule, parse_zone
from gatewayd.queue.suppression import refusals
from gatewayd.store import contact_group_members, contacts, recurring_runs, recurring_sends

DUE_BATCH = 20


@dataclass(frozen=True)
class RunDone:
    recurring_id: int
    scheduled_for: datetime
    queued: int
    refused: int


def following_run(row: Any, after: datetime) -> datetime | None:
    """The run after ``after`` by the row's schedule; None when it has none (or is broken)."""
    try:
        return parse_schedule(row.schedule).next_after(after, parse_zone(row.tz))
    except InvalidSchedule:
        return None


async def _numbers(conn: AsyncConnection, row: Any) -> list[str]:
    numbers = [str(n) for n in row.recipients or []]
    groups = [int(g) for g in row.group_ids or []]
    if groups:
        members = await conn.execute(
            select(contacts.c.number)
            .select_from(contacts.join(contact_group_members))
            .where(contact_group_members.c.group_id.in_(groups))
        )
        numbers.extend(number for (number,) in members)
    return list(dict.fromkeys(numbers))


async def run_due(conn: AsyncConnection, *, now: datetime, region: str | None) -> list[RunDone]:
    """Take and enqueue the due runs (at most :data:`DUE_BATCH`); what was done."""
    s = recurring_sends.c
    due = (
        await conn.execute(
            select(recurring_sends)
            .where(s.paused.is_(False), s.next_run_at.is_not(None), s.next_run_at <= now)
            .order_by(s.next_run_at)
            .limit(DUE_BATCH)
        )
    ).all()
    done: list[RunDone] = []
    for row in due:
        following = following_run(row, now)
        taken = await conn.execute(
            update(recurring_sends)
            .where(s.id == row.id, s.next_run_at == row.next_run_at)
            .values(next_run_at=following, last_run_at=now, updated_at=now)
        )
        if taken.rowcount != 1:
            continue  # another daemon took this run
        done.append(await _enqueue_run(conn, row, now, region))
    return done


async def _enqueue_run(
    conn: AsyncConnection, row: Any, now: datetime, region: str | None
) -> RunDone:
    numbers = await _numbers(conn, row)
    error: str | None = None
    prepared: list[PreparedMessage] = []
    problems: list[RecipientProblem] = []
    if numbers:
        try:
            prepared, problems = prepare_many(
                NewMessage(to="", text=row.text), numbers, default_region=region
            )
        except ValueError as exc:  # InvalidMessage: the text itself
            error = str(exc)[:500]
    else:
        error = "no recipients"
    refused = await refusals(conn, [p.recipient for p in prepared])
    kept = [p for p in prepared if p.recipient not in refused]
    if kept:
        await enqueue_requests(conn, [QueueRequest(kept, f"recurring:{row.id}")], now=now)
    await conn.execute(
        insert(recurring_runs).values(
            recurring_id=row.id,
            scheduled_for=row.next_run_at,
            ran_at=now,
            queued=len(kept),
            refused=len(problems) + len(refused),
            error=error,
        )
    )
    return RunDone(row.id, row.next_run_at, len(kept), len(problems) + len(refused))
