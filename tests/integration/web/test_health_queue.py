"""``checks.queue`` of ``/api/health``: due messages that do not move make the gateway
``degraded``; a queue that moves, or holds only messages not yet due, is ``ok``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, update

from gatewayd.store import messages, utc_now
from tests.integration.web.conftest import WebEnv


async def health(web: WebEnv) -> dict[str, Any]:
    response = await web.client.get("/api/health")
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def add_message(web: WebEnv, status: str, **values: Any) -> int:
    row = {
        "recipient": "+5511987654321",
        "text": "x",
        "encoding": "gsm7",
        "segments": 1,
        "status": status,
        **values,
    }
    async with web.db.begin() as conn:
        result = await conn.execute(insert(messages).values(**row).returning(messages.c.id))
        return int(result.scalar_one())


async def test_due_messages_that_do_not_move_are_degraded(web: WebEnv) -> None:
    body = await health(web)
    assert (body["checks"]["queue"], body["details"]["queue_due"]) == ("ok", 0)

    old = utc_now() - timedelta(minutes=10)
    await add_message(web, "queued", created_at=old, updated_at=old)
    await add_message(web, "queued", send_at=utc_now() + timedelta(hours=1))  # not due yet
    body = await health(web)
    assert body["checks"]["queue"] == "stuck"
    assert body["status"] == "degraded"
    assert body["details"]["queue_due"] == 1
    assert body["details"]["queue_oldest_due_seconds"] >= 590

    # Something left the queue a moment ago: it moves (slowly), which is not stuck.
    sent = await add_message(web, "sent", created_at=old)
    body = await health(web)
    assert body["checks"]["queue"] == "ok"
    async with web.db.begin() as conn:
        await conn.execute(update(messages).where(messages.c.id == sent).values(updated_at=old))
    assert (await health(web))["checks"]["queue"] == "stuck"
    # One being sent right now: moving.
    await add_message(web, "sending", created_at=old)
    assert (await health(web))["checks"]["queue"] == "ok"


async def test_a_message_due_a_moment_ago_is_not_stuck(web: WebEnv) -> None:
    await add_message(web, "queued", created_at=utc_now() - timedelta(seconds=30))
    body = await health(web)
    assert (body["checks"]["queue"], body["details"]["queue_due"]) == ("ok", 1)
