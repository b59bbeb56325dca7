"""The fast ingest path keeps the API's answers: answers built without reading back equal what
``GET`` reads, concurrent sends grouped in one transaction stay separate requests, and one
request the database refuses does not fail the ones it was grouped with."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from gatewayd.store import audit_log, message_events, message_parts, messages
from tests.integration.web.conftest import WebEnv

NUMBER = "+5511987654321"


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+55119{start + i:08d}" for i in range(count)]


async def send(web: WebEnv, body: Any, **headers: str) -> Any:
    return await web.client.post("/api/v1/messages", json=body,
                                 headers={**web.bearer("operator"), **headers})


async def shown(web: WebEnv, message_id: int) -> dict[str, Any]:
    response = await web.client.get(f"/api/v1/messages/{message_id}",
                                    headers=web.bearer("viewer"))
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    body.pop("timeline")
    return body


async def test_single_answer_equals_what_is_stored(web: WebEnv) -> None:
    body = {"to": NUMBER, "text": "Olá! " * 40, "priority": 7, "flash": True,
            "status_report": False, "validity_minutes": 90,
            "send_at": "2026-12-01T09:00:00.123456-03:00"}
    response = await send(web, body)
    answer = await response.json()
    assert response.status == 202
    assert answer == await shown(web, answer["id"])
    assert answer["send_at"] == "2026-12-01T12:00:00.123456Z"
    assert answer["batch_id"] is None and answer["encoding"] == "ucs2"
    assert [p["seq"] for p in answer["parts"]] == [1, 2, 3]  # 200 UCS-2 units, 67 a part


async def test_batch_answer_equals_what_is_stored(web: WebEnv) -> None:
    response = await send(web, {"to": numbers(30), "text": "batch"})
    answer = await response.json()
    assert response.status == 202
    ids = [m["id"] for m in answer["messages"]]
    assert ids == sorted(ids) and len(set(ids)) == 30
    assert {m["batch_id"] for m in answer["messages"]} == {ids[0]}
    for message in (answer["messages"][0], answer["messages"][-1]):
        assert message == await shown(web, message["id"])


async def test_csv_answer_equals_what_is_stored(web: WebEnv) -> None:
    form = aiohttp.FormData()
    form.add_field("file", "\n".join(numbers(3)).encode(), filename="to.csv")
    form.add_field("text", "from a file")
    response = await web.client.post("/api/v1/messages/batch", data=form,
                                     headers=web.bearer("operator"))
    answer = await response.json()
    assert response.status == 202
    assert [m["to"] for m in answer["messages"]] == numbers(3)
    assert answer["messages"][1] == await shown(web, answer["messages"][1]["id"])


async def test_concurrent_single_sends_stay_separate_requests(web: WebEnv) -> None:
    responses = await asyncio.gather(
        *(send(web, {"to": to, "text": f"message {i}"}) for i, to in enumerate(numbers(40)))
    )
    answers = [await r.json() for r in responses]
    assert [r.status for r in responses] == [202] * 40
    assert [a["to"] for a in answers] == numbers(40)
    assert [a["text"] for a in answers] == [f"message {i}" for i in range(40)]
    assert len({a["id"] for a in answers}) == 40
    assert all(a["batch_id"] is None for a in answers)
    async with web.db.read() as conn:
        batch_ids = (await conn.execute(select(messages.c.batch_id))).scalars().all()
        audits = (await conn.execute(
            select(audit_log.c.target, audit_log.c.detail, audit_log.c.client_address)
            .where(audit_log.c.action == "message.send")
        )).all()
        events = (await conn.execute(select(func.count()).select_from(message_events)))\
            .scalar_one()
        parts = (await conn.execute(select(func.count()).select_from(message_parts)))\
            .scalar_one()
    assert batch_ids == [None] * 40
    assert sorted(a.target for a in audits) == sorted(f"message:{a['id']}" for a in answers)
    assert {a.detail["to"] for a in audits} == set(numbers(40))
    assert all(a.detail["count"] == 1 and a.client_address for a in audits)
    assert (events, parts) == (40, 40)


async def test_ids_keep_growing_after_a_batch(web: WebEnv) -> None:
    first = await (await send(web, {"to": numbers(5), "text": "batch"})).json()
    single = await (await send(web, {"to": NUMBER, "text": "single"})).json()
    last_of_batch = first["messages"][-1]["id"]
    assert single["id"] > last_of_batch


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_refused_request_does_not_fail_its_group(web: WebEnv) -> None:
    """PostgreSQL refuses NUL characters in text: that request fails alone."""
    bodies = [{"to": to, "text": f"fine {i}"} for i, to in enumerate(numbers(20))]
    bodies.insert(7, {"to": NUMBER, "text": "nul \u0000 inside"})
    responses = await asyncio.gather(*(send(web, body) for body in bodies))
    statuses = [r.status for r in responses]
    assert statuses[7] != 202
    assert statuses[:7] + statuses[8:] == [202] * 20
    async with web.db.read() as conn:
        stored = (await conn.execute(select(messages.c.text))).scalars().all()
    assert sorted(stored) == sorted(f"fine {i}" for i in range(20))
