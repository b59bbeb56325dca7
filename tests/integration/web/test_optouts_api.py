"""The opt-out API and its enforcement at every web front door (JSON one and many, CSV
batch, Kannel endpoint), on PostgreSQL and SQLite: refusals are ``opted_out`` (422), per
recipient in batches, the others queued with ``skip_invalid``; every change audited."""

from __future__ import annotations

from typing import Any

from aiohttp import FormData
from sqlalchemy import func, select

from gatewayd.store import audit_log, messages
from tests.integration.web.conftest import WebEnv

OUT = "+5511987650001"
FINE = ["+5511987650002", "+5511987650003"]


async def add(web: WebEnv, body: dict[str, Any], role: str = "operator") -> Any:
    return await web.client.post("/api/v1/optouts", json=body, headers=web.bearer(role))


async def queued(web: WebEnv) -> int:
    async with web.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(messages))).scalar_one())


async def test_add_list_search_remove_audited(web: WebEnv) -> None:
    created = await add(web, {"number": OUT, "note": "asked by phone"})
    assert created.status == 201, await created.text()
    assert (await created.json())["kind"] == "opt_out"
    again = await add(web, {"number": OUT})
    assert again.status == 200
    await add(web, {"number": "+5521", "kind": "block", "prefix": True})
    listed = await (await web.client.get("/api/v1/optouts", headers=web.bearer("viewer"))).json()
    assert listed["total"] == 2
    found = await web.client.get("/api/v1/optouts?q=phone", headers=web.bearer("viewer"))
    assert [e["number"] for e in (await found.json())["entries"]] == [OUT]
    removed = await web.client.delete(f"/api/v1/optouts/{OUT}", headers=web.bearer("operator"))
    assert removed.status == 200 and (await removed.json())["removed"] is True
    gone = await web.client.delete(f"/api/v1/optouts/{OUT}", headers=web.bearer("operator"))
    assert gone.status == 404
    async with web.db.read() as conn:
        actions = [row[0] for row in await conn.execute(select(audit_log.c.action))]
    assert actions.count("optout.add") == 1 and "block.add" in actions
    assert "optout.remove" in actions


async def test_viewer_may_not_change_and_bad_input_is_refused(web: WebEnv) -> None:
    assert (await add(web, {"number": OUT}, role="viewer")).status == 403
    bad = await add(web, {"number": "+5511", "prefix": True})
    assert bad.status == 422 and (await bad.json())["error"]["code"] == "invalid_prefix"
    junk = await add(web, {"number": "not a number"})
    assert junk.status == 422 and (await junk.json())["error"]["code"] == "invalid_number"
    huge = await add(web, {"number": "+1" * 5000})
    assert huge.status == 422


async def test_json_send_refused_one_and_per_recipient(web: WebEnv) -> None:
    await add(web, {"number": OUT})
    one = await web.client.post(
        "/api/v1/messages", json={"to": OUT, "text": "promo"}, headers=web.bearer("operator")
    )
    assert one.status == 422 and (await one.json())["error"]["code"] == "opted_out"
    many = {"to": [FINE[0], OUT, FINE[1]], "text": "promo"}
    refused = await web.client.post("/api/v1/messages", json=many, headers=web.bearer("operator"))
    problems = (await refused.json())["error"]["problems"]
    assert refused.status == 422
    assert [(p["index"], p["code"]) for p in problems] == [(1, "opted_out")]
    assert await queued(web) == 0
    accepted = await web.client.post(
        "/api/v1/messages", json={**many, "skip_invalid": True}, headers=web.bearer("operator")
    )
    body = await accepted.json()
    assert accepted.status == 202
    assert [m["to"] for m in body["messages"]] == FINE
    assert [(p["index"], p["code"]) for p in body["skipped"]] == [(1, "opted_out")]


async def test_blocked_prefix_and_allowed_number(web: WebEnv) -> None:
    await add(web, {"number": "+55119876", "kind": "block", "prefix": True})
    await add(web, {"number": FINE[0], "kind": "allow"})
    many = {"to": FINE, "text": "x", "skip_invalid": True}
    accepted = await web.client.post("/api/v1/messages", json=many, headers=web.bearer("operator"))
    body = await accepted.json()
    assert [m["to"] for m in body["messages"]] == [FINE[0]]
    assert [p["to"] for p in body["skipped"]] == [FINE[1]]


async def test_csv_batch_and_kannel_refuse(web: WebEnv) -> None:
    await add(web, {"number": OUT})
    form = FormData()
    rows = f"number,text\n{FINE[0]},a\n{OUT},b\n"
    form.add_field("file", rows.encode(), filename="list.csv", content_type="text/csv")
    batch = await web.client.post(
        "/api/v1/messages/batch", data=form, headers=web.bearer("operator")
    )
    error = (await batch.json())["error"]
    assert batch.status == 422 and [p["code"] for p in error["problems"]] == ["opted_out"]
    kannel = {"username": "k", "password": web.keys["operator"], "to": OUT, "text": "t"}
    answer = await web.client.post("/cgi-bin/sendsms", data=kannel)
    assert answer.status >= 400
    assert await queued(web) == 0


async def test_list_filters_are_held_to_the_document(web: WebEnv) -> None:
    """A search longer than the document's 64 characters, or an empty or unknown kind, is
    refused (they were cut short or ignored: the answer was not what was asked)."""
    await add(web, {"number": OUT, "note": "x" * 64})
    viewer = web.bearer("viewer")
    fits = await web.client.get("/api/v1/optouts", params={"q": "x" * 64}, headers=viewer)
    assert fits.status == 200 and (await fits.json())["total"] == 1
    for params in ({"q": "x" * 65}, {"kind": ""}, {"kind": "opt-out"}, {"offset": "10000001"}):
        answer = await web.client.get("/api/v1/optouts", params=params, headers=viewer)
        error = (await answer.json())["error"]
        assert (answer.status, error["field"]) == (422, next(iter(params))), params


async def test_a_note_with_a_nul_character_is_refused(web: WebEnv) -> None:
    """No column holds a NUL character: it was a 500."""
    answer = await add(web, {"number": OUT, "note": "a\x00b"})
    assert (answer.status, (await answer.json())["error"]["field"]) == (422, "note")
    assert (await add(web, {"number": OUT, "note": "ab"})).status == 201
