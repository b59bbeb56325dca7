"""A reused ``Idempotency-Key`` with a different body is refused (422 ``idempotency_mismatch``)
and queues nothing; the same body, even with the list in another order, is still a replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from aiohttp import FormData

from tests.integration.web.conftest import WebEnv

NUMBER = "+5511987654321"
OTHER = "+5511987654322"
LATER = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)


async def send(web: WebEnv, body: Any, key: str, role: str = "operator") -> Any:
    return await web.client.post(
        "/api/v1/messages", json=body, headers={**web.bearer(role), "Idempotency-Key": key}
    )


async def queued(web: WebEnv) -> int:
    listed = await web.client.get("/api/v1/messages", headers=web.bearer("viewer"))
    return len((await listed.json())["messages"])


async def test_a_different_body_with_a_used_key_is_refused(web: WebEnv) -> None:
    first = await send(web, {"to": NUMBER, "text": "once"}, "k-1")
    assert first.status == 202
    variants = [
        {"to": NUMBER, "text": "twice"},
        {"to": OTHER, "text": "once"},
        {"to": NUMBER, "text": "once", "priority": 5},
        {"to": NUMBER, "text": "once", "flash": True},
        {"to": NUMBER, "text": "once", "status_report": False},
        {"to": NUMBER, "text": "once", "send_at": LATER.isoformat()},
        {"to": [NUMBER, OTHER], "text": "once"},
    ]
    for body in variants:
        response = await send(web, body, "k-1")
        assert response.status == 422, body
        error = (await response.json())["error"]
        assert (error["code"], error["field"]) == ("idempotency_mismatch", "Idempotency-Key")
    assert await queued(web) == 1


async def test_the_same_list_in_another_order_is_a_replay(web: WebEnv) -> None:
    in_utc = LATER.isoformat().replace("+00:00", "Z")
    in_brasilia = LATER.astimezone(timezone(timedelta(hours=-3))).isoformat()
    first = await send(web, {"to": [NUMBER, OTHER], "text": "hi", "send_at": in_utc}, "batch-1")
    again = await send(
        web, {"to": [OTHER, NUMBER], "text": "hi", "send_at": in_brasilia}, "batch-1"
    )
    assert (first.status, again.status) == (202, 200)
    ids = sorted(m["id"] for m in (await first.json())["messages"])
    assert sorted(m["id"] for m in (await again.json())["messages"]) == ids
    assert await queued(web) == 2


async def test_a_csv_upload_reusing_a_key_is_checked_too(web: WebEnv) -> None:
    assert (await send(web, {"to": NUMBER, "text": "mine"}, "shared")).status == 202

    async def upload(rows: bytes) -> Any:
        form = FormData()
        form.add_field("file", rows, filename="numbers.csv", content_type="text/csv")
        return await web.client.post(
            "/api/v1/messages/batch",
            data=form,
            headers={**web.bearer("operator"), "Idempotency-Key": "shared"},
        )

    refused = await upload(b"+5511987654322,hello\n")
    assert refused.status == 422
    assert (await refused.json())["error"]["code"] == "idempotency_mismatch"
    replay = await upload(NUMBER.encode() + b",mine\n")
    assert replay.status == 200
    assert await queued(web) == 1
