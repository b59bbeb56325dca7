"""Recurring sends through the API and the daemon's due-run step, on PostgreSQL and SQLite:
CRUD with preview, history and audit; each scheduled time enqueues once with two runners at
once and after a restart; paused ones do not run; opted-out recipients and deleted groups."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from gatewayd.queue.recurring import run_due
from gatewayd.store import (
    Database,
    audit_log,
    messages,
    recurring_runs,
    recurring_sends,
    suppressions,
    utc_now,
)
from tests.integration.web.conftest import WebEnv

DAILY = {"every": "day", "at": "09:00"}


async def create(web: WebEnv, **fields: Any) -> Any:
    body = {
        "name": "news",
        "text": "Good morning",
        "to": ["+5511987650001"],
        "schedule": DAILY,
        "tz": "America/Sao_Paulo",
        **fields,
    }
    answer = await web.client.post("/api/v1/recurring", json=body, headers=web.bearer("operator"))
    return answer.status, await answer.json()


async def make_due(db: Database, recurring_id: int) -> None:
    async with db.begin() as conn:
        await conn.execute(
            update(recurring_sends)
            .where(recurring_sends.c.id == recurring_id)
            .values(next_run_at=utc_now() - timedelta(minutes=1))
        )


async def count(db: Database, table: Any) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


async def due(db: Database) -> int:
    async with db.begin() as conn:
        done = await run_due(conn, now=utc_now(), region=None)
    return sum(run.queued for run in done)


async def test_crud_preview_pause_audit(web: WebEnv) -> None:
    status, made = await create(web)
    assert status == 201, made
    assert len(made["next_runs"]) == 5 and made["next_run_at"] == made["next_runs"][0]
    assert made["next_runs"][0].endswith("12:00:00Z")  # 09:00 in São Paulo
    put = await web.client.put(
        f"/api/v1/recurring/{made['id']}",
        json={
            "name": "news",
            "text": "Bom dia",
            "to": ["+5511987650001"],
            "schedule": {"cron": "0 8 * * 1-5"},
            "paused": True,
        },
        headers=web.bearer("operator"),
    )
    paused = await put.json()
    assert put.status == 200 and paused["paused"] is True and paused["next_run_at"] is None
    listed = await (await web.client.get("/api/v1/recurring", headers=web.bearer("viewer"))).json()
    assert [r["text"] for r in listed["recurring"]] == ["Bom dia"]
    gone = await web.client.delete(
        f"/api/v1/recurring/{made['id']}", headers=web.bearer("operator")
    )
    assert gone.status == 200
    async with web.db.read() as conn:
        actions = [row[0] for row in await conn.execute(select(audit_log.c.action))]
    assert [a for a in actions if a.startswith("recurring.")] == [
        "recurring.create",
        "recurring.pause",
        "recurring.delete",
    ]


async def test_bad_input_refused(web: WebEnv) -> None:
    status, body = await create(web, schedule={"cron": "61 * * * *"})
    assert status == 422 and body["error"]["code"] == "invalid_schedule"
    status, body = await create(web, tz="Mars/Base")
    assert status == 422 and body["error"]["code"] == "invalid_schedule"
    status, body = await create(web, to=[])
    assert status == 422 and body["error"]["code"] == "no_recipients"
    status, body = await create(web, to=["12"])
    assert status == 422 and body["error"]["code"] == "invalid_number"
    viewer = await web.client.post("/api/v1/recurring", json={}, headers=web.bearer("viewer"))
    assert viewer.status == 403


async def test_hostile_input_is_a_422_not_a_500(web: WebEnv) -> None:
    """Each of these was a 500: a NUL character in the name (no column holds one), a number
    too large for JSON under a key the schedule does not have, a step written with a digit
    int() does not read ("²")."""
    body = {"name": "news", "text": "hi", "to": ["+5511987650001"], "schedule": DAILY}
    for text, field in (
        (json.dumps({**body, "name": "news\x00"}), "name"),
        (
            json.dumps({**body, "schedule": {**DAILY, "x": 0}}).replace('"x": 0', '"x": 1e400'),
            "schedule.day.x",
        ),
        (json.dumps({**body, "schedule": {"cron": "*/\u00b2 * * * *"}}), "schedule.cron.cron"),
    ):
        answer = await web.client.post(
            "/api/v1/recurring",
            data=text,
            headers={**web.bearer("operator"), "Content-Type": "application/json"},
        )
        error = (await answer.json())["error"]
        assert (answer.status, error["field"]) == (422, field), text
    assert await count(web.db, recurring_sends) == 0
    operator = web.bearer("operator")
    for path in ("/api/v1/recurring/x1", "/api/v1/recurring/-1", "/api/v1/recurring/1.0"):
        assert (await web.client.get(path, headers=operator)).status == 404, path


async def test_each_run_enqueues_once(web: WebEnv) -> None:
    db = web.db
    _, made = await create(web, to=["+5511987650001", "+5511987650002"])
    await make_due(db, made["id"])
    results = await asyncio.gather(due(db), due(db), return_exceptions=True)
    queued = [r for r in results if isinstance(r, int)]
    assert sum(queued) == 2 and await count(db, messages) == 2
    assert await due(db) == 0  # as after a restart: the run is taken, next_run_at moved on
    async with db.read() as conn:
        row = (await conn.execute(select(recurring_sends))).one()
        history = (await conn.execute(select(recurring_runs))).all()
    assert row.next_run_at > utc_now() and len(history) == 1 and history[0].queued == 2
    shown = await (
        await web.client.get(f"/api/v1/recurring/{made['id']}", headers=web.bearer("viewer"))
    ).json()
    assert shown["history"][0]["queued"] == 2


async def test_paused_opted_out_and_deleted_group(web: WebEnv) -> None:
    db = web.db
    async with db.begin() as conn:
        await conn.execute(
            insert(suppressions).values(
                number="+5511987650002", kind="opt_out", source="api", created_by="t"
            )
        )
    _, paused = await create(web, paused=True)
    _, made = await create(
        web, name="two", to=["+5511987650001", "+5511987650002"], group_ids=[999]
    )
    await make_due(db, paused["id"])
    async with db.begin() as conn:
        await conn.execute(
            update(recurring_sends).where(recurring_sends.c.id == paused["id"]).values(paused=True)
        )
    await make_due(db, made["id"])
    assert await due(db) == 1
    async with db.read() as conn:
        [run] = (await conn.execute(select(recurring_runs))).all()
        sent = [r[0] for r in await conn.execute(select(messages.c.recipient))]
    assert sent == ["+5511987650001"] and run.refused == 1
