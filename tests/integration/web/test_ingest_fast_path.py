"""The fast ingest path keeps the API's answers: answers built without reading back equal what
``GET`` reads, concurrent sends grouped in one transaction stay separate requests, one
request that cannot be written does not fail the ones it was grouped with, and a batch written
with COPY or one INSERT of arrays still races correctly on its Idempotency-Key."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.bus import InProcessBus
from gatewayd.queue import NewMessage
from gatewayd.queue.bulk import COPY_FROM_ROWS, UNNEST_FROM_ROWS
from gatewayd.queue.enqueue import prepare_many
from gatewayd.store import audit_log, message_events, message_parts, messages
from tests.integration.web.conftest import WebEnv
from webui.keys import SENDING
from webui.services.group_commit import AuditEntry, GroupedSend, SendGroup

NUMBER = "+5511987654321"


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+55119{start + i:08d}" for i in range(count)]


async def send(web: WebEnv, body: Any, **headers: str) -> Any:
    return await web.client.post(
        "/api/v1/messages", json=body, headers={**web.bearer("operator"), **headers}
    )


async def shown(web: WebEnv, message_id: int) -> dict[str, Any]:
    response = await web.client.get(f"/api/v1/messages/{message_id}", headers=web.bearer("viewer"))
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    body.pop("timeline")
    return body


async def test_single_answer_equals_what_is_stored(web: WebEnv) -> None:
    body = {
        "to": NUMBER,
        "text": "Olá! " * 40,
        "priority": 7,
        "flash": True,
        "status_report": False,
        "validity_minutes": 90,
        "send_at": "2026-12-01T09:00:00.123456-03:00",
    }
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
    response = await web.client.post(
        "/api/v1/messages/batch", data=form, headers=web.bearer("operator")
    )
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
        audits = (
            await conn.execute(
                select(audit_log.c.target, audit_log.c.detail, audit_log.c.client_address).where(
                    audit_log.c.action == "message.send"
                )
            )
        ).all()
        events = (await conn.execute(select(func.count()).select_from(message_events))).scalar_one()
        parts = (await conn.execute(select(func.count()).select_from(message_parts))).scalar_one()
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


async def test_a_failing_request_does_not_fail_its_group(web: WebEnv) -> None:
    """The group's transaction fails on one request's extra write: each request is then
    written alone, and only that one fails."""
    committer = web.app[SENDING].group_commit
    prepared, _ = prepare_many(NewMessage(to="", text="grouped"), numbers(12))

    async def refuse(conn: AsyncConnection, ids: list[int]) -> None:
        raise RuntimeError("this one cannot be stored")

    def audit(ids: list[int]) -> AuditEntry:
        return AuditEntry("test", "message.send", f"message:{ids[0]}", None, None)

    sends = [
        GroupedSend([p], "test", audit, refuse if i == 5 else None) for i, p in enumerate(prepared)
    ]
    results = await asyncio.gather(*(committer.submit(s) for s in sends), return_exceptions=True)
    assert isinstance(results[5], RuntimeError)
    good = [r for i, r in enumerate(results) if i != 5]
    assert all(isinstance(r, tuple) and len(r[0]) == 1 for r in good)
    async with web.db.read() as conn:
        stored = (await conn.execute(select(messages.c.recipient))).scalars().all()
        audited = (await conn.execute(select(func.count()).select_from(audit_log))).scalar_one()
    assert sorted(stored) == sorted(numbers(12)[:5] + numbers(12)[6:])
    assert audited == 11


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("size", [UNNEST_FROM_ROWS + 48, COPY_FROM_ROWS + 100])
async def test_racing_batches_with_one_key_queue_once(web: WebEnv, size: int) -> None:
    """Batches are written by one INSERT of arrays, the large ones with COPY: either way the
    loser's unique violation comes out as the IntegrityError the idempotency retry expects."""
    body = {"to": numbers(size), "text": "raced"}
    first, second = await asyncio.gather(
        send(web, body, **{"Idempotency-Key": "race"}),
        send(web, body, **{"Idempotency-Key": "race"}),
    )
    assert sorted([first.status, second.status]) == [200, 202]
    a, b = await first.json(), await second.json()
    assert [m["id"] for m in a["messages"]] == [m["id"] for m in b["messages"]]
    async with web.db.read() as conn:
        count = (await conn.execute(select(func.count()).select_from(messages))).scalar_one()
    assert count == size


async def test_a_send_queued_as_the_writer_finishes_is_written(web: WebEnv) -> None:
    """The waiter of the last group resumes before the writer's done-callbacks run: a send it
    queues at once must start a new writer, not wait for a writer that has finished."""
    # The in-process bus publishes without yielding: the writer ends in the same step.
    committer = SendGroup(web.db, InProcessBus())
    prepared, _ = prepare_many(NewMessage(to="", text="one after the other"), numbers(3))

    def audit(ids: list[int]) -> AuditEntry:
        return AuditEntry("test", "message.send", f"message:{ids[0]}", None, None)

    async def one_after_the_other() -> list[list[int]]:
        # Awaited directly: each submit() runs as soon as the previous send is answered.
        return [
            (await committer.submit(GroupedSend([p], "test", audit, None)))[0] for p in prepared
        ]

    written = await asyncio.wait_for(one_after_the_other(), timeout=10)
    assert [len(ids) for ids in written] == [1, 1, 1]
    async with web.db.read() as conn:
        stored = (await conn.execute(select(messages.c.recipient))).scalars().all()
    assert sorted(stored) == numbers(3)
