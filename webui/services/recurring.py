"""Recurring sends as operators manage them: list with each one's next runs and history,
create, replace (pausing and resuming included), delete; every change audited.

The daemon runs them (:mod:`gatewayd.queue.recurring`); here a schedule, its time zone, the
numbers and the text are checked before anything is stored, and ``next_run_at`` is set from
the schedule (None while paused).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.numbers import InvalidNumber, normalise
from gatewayd.queue import InvalidMessage, NewMessage
from gatewayd.queue.enqueue import MAX_TEXT_LENGTH, prepare_many
from gatewayd.queue.schedule import InvalidSchedule, parse_schedule, parse_zone, upcoming
from gatewayd.queue.view import iso
from gatewayd.store import Database, contact_groups, recurring_runs, recurring_sends, utc_now
from webui.audit import record
from webui.services.caller import Caller
from webui.services.errors import Invalid, NotFound

MAX_RECURRING = 500
MAX_NUMBERS = 1000
PREVIEW = 5
HISTORY = 20
FIELDS = ("name", "text", "to", "group_ids", "schedule", "tz", "paused")


@dataclass(frozen=True)
class RecurringSends:
    db: Database
    region: str | None

    async def list(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await conn.execute(select(recurring_sends).order_by(recurring_sends.c.id))
            return [await _json(conn, row) for row in rows]

    async def groups(self) -> builtins.list[tuple[int, str]]:
        """The address book's groups, (id, name), for the page's choice."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(contact_groups.c.id, contact_groups.c.name).order_by(contact_groups.c.name)
            )
            return [(int(row.id), str(row.name)) for row in rows]

    async def get(self, recurring_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            return await _json(conn, await _row(conn, recurring_id))

    def _checked(self, data: dict[str, Any]) -> dict[str, Any]:
        unknown = set(data) - set(FIELDS)
        if unknown:
            raise Invalid(
                "invalid_recurring", f"unknown fields: {sorted(unknown)}", sorted(unknown)[0]
            )
        name = data.get("name")
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 100:
            raise Invalid("invalid_recurring", "name is 1 to 100 characters", "name")
        text = data.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_LENGTH:
            raise Invalid(
                "empty_text" if not text else "text_too_long",
                "text is needed, at most 255 parts",
                "text",
            )
        numbers = data.get("to") or []
        groups = data.get("group_ids") or []
        if (
            not isinstance(numbers, list)
            or len(numbers) > MAX_NUMBERS
            or not all(isinstance(n, str) for n in numbers)
        ):
            raise Invalid(
                "invalid_recurring", f"to is a list of at most {MAX_NUMBERS} numbers", "to"
            )
        if (
            not isinstance(groups, list)
            or len(groups) > 100
            or not all(
                isinstance(g, int) and not isinstance(g, bool) and 0 < g < 2**63 for g in groups
            )
        ):
            raise Invalid("invalid_recurring", "group_ids is a list of group ids", "group_ids")
        if not numbers and not groups:
            raise Invalid("no_recipients", "give numbers or groups", "to")
        try:
            normalised = [normalise(n, self.region) for n in numbers]
        except InvalidNumber as exc:
            raise Invalid("invalid_number", str(exc), "to") from None
        try:
            prepare_many(NewMessage(to="", text=text), normalised[:1] or ["+5511987654321"])
        except InvalidMessage as exc:
            raise Invalid(exc.code, str(exc), "text") from None
        tz = data.get("tz") or "UTC"
        try:
            schedule = parse_schedule(data.get("schedule"))
            zone = parse_zone(tz)
        except InvalidSchedule as exc:
            raise Invalid("invalid_schedule", str(exc), "schedule") from None
        paused = data.get("paused", False)
        if not isinstance(paused, bool):
            raise Invalid("invalid_recurring", "paused is true or false", "paused")
        now = utc_now()
        return {
            "name": name.strip(),
            "text": text,
            "recipients": normalised,
            "group_ids": groups,
            "schedule": data["schedule"],
            "tz": tz,
            "paused": paused,
            "next_run_at": None if paused else schedule.next_after(now, zone),
            "updated_at": now,
        }

    async def create(self, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
        values = self._checked(data)
        async with self.db.begin() as conn:
            count = int(await conn.scalar(select(func.count()).select_from(recurring_sends)) or 0)
            if count >= MAX_RECURRING:
                raise Invalid("too_many_recurring", f"at most {MAX_RECURRING}", "name")
            result = await conn.execute(
                insert(recurring_sends)
                .values(**values, created_by=caller.actor[:100], created_at=values["updated_at"])
                .returning(recurring_sends.c.id)
            )
            new_id = int(result.scalar_one())
            await record(
                conn,
                caller.actor,
                "recurring.create",
                str(new_id),
                {"name": values["name"]},
                caller.client_address,
            )
            return await _json(conn, await _row(conn, new_id))

    async def replace(
        self, caller: Caller, recurring_id: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        values = self._checked(data)
        async with self.db.begin() as conn:
            await _row(conn, recurring_id)
            await conn.execute(
                update(recurring_sends).where(recurring_sends.c.id == recurring_id).values(**values)
            )
            action = "recurring.pause" if values["paused"] else "recurring.update"
            await record(
                conn,
                caller.actor,
                action,
                str(recurring_id),
                {"name": values["name"]},
                caller.client_address,
            )
            return await _json(conn, await _row(conn, recurring_id))

    async def set_paused(self, caller: Caller, recurring_id: int, paused: bool) -> dict[str, Any]:
        current = await self.get(recurring_id)
        fields = {
            "name": current["name"],
            "text": current["text"],
            "to": current["to"],
            "group_ids": current["group_ids"],
            "schedule": current["schedule"],
            "tz": current["tz"],
            "paused": paused,
        }
        return await self.replace(caller, recurring_id, fields)

    async def delete(self, caller: Caller, recurring_id: int) -> None:
        async with self.db.begin() as conn:
            old = await _row(conn, recurring_id)
            await conn.execute(delete(recurring_sends).where(recurring_sends.c.id == recurring_id))
            await record(
                conn,
                caller.actor,
                "recurring.delete",
                str(recurring_id),
                {"name": old.name},
                caller.client_address,
            )


async def _row(conn: AsyncConnection, recurring_id: int) -> Any:
    row = (
        await conn.execute(select(recurring_sends).where(recurring_sends.c.id == recurring_id))
    ).first()
    if row is None:
        raise NotFound("not_found", "no recurring send has this id", "id")
    return row


async def _json(conn: AsyncConnection, row: Any) -> dict[str, Any]:
    runs = await conn.execute(
        select(recurring_runs)
        .where(recurring_runs.c.recurring_id == row.id)
        .order_by(recurring_runs.c.scheduled_for.desc())
        .limit(HISTORY)
    )
    preview: list[str] = []
    if not row.paused and row.next_run_at is not None:
        try:
            zone = parse_zone(row.tz)
            following = upcoming(parse_schedule(row.schedule), zone, row.next_run_at, PREVIEW - 1)
            preview = [
                at.isoformat().replace("+00:00", "Z") for at in [row.next_run_at, *following]
            ]
        except InvalidSchedule:
            preview = []
    return {
        "id": row.id,
        "name": row.name,
        "text": row.text,
        "to": row.recipients,
        "group_ids": row.group_ids,
        "schedule": row.schedule,
        "tz": row.tz,
        "paused": bool(row.paused),
        "next_run_at": iso(row.next_run_at) if row.next_run_at else None,
        "next_runs": preview,
        "last_run_at": iso(row.last_run_at) if row.last_run_at else None,
        "history": [
            {
                "scheduled_for": iso(run.scheduled_for),
                "ran_at": iso(run.ran_at),
                "queued": run.queued,
                "refused": run.refused,
                "error": run.error,
            }
            for run in runs
        ],
        "created_by": row.created_by,
    }
