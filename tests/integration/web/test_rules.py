"""Rules on incoming SMS through the API and the runner, on PostgreSQL and SQLite: CRUD with
audit, the dry run, each action, loop protection, a group deleted under a rule, each message
evaluated once across rounds and with two runners, the opt-out list respected."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select

from gatewayd.store import (
    Database,
    audit_log,
    contact_group_members,
    contact_groups,
    incoming_messages,
    incoming_tags,
    messages,
    outgoing_mail,
    rule_replies,
    rules,
    suppressions,
    utc_now,
    webhook_deliveries,
)
from tests.integration.web.conftest import WebEnv
from webui.services.rule_runner import RuleCache, run_rules

SENDER = "+5511987650001"


async def create(web: WebEnv, body: dict[str, Any]) -> Any:
    answer = await web.client.post("/api/v1/rules", json=body, headers=web.bearer("operator"))
    return answer.status, await answer.json()


async def receive(db: Database, text: str, sender: str = SENDER, n: int = 1) -> None:
    async with db.begin() as conn:
        now = utc_now()
        await conn.execute(
            insert(incoming_messages),
            [
                {
                    "sender": sender,
                    "text": text,
                    "modem": "sim0",
                    "received_at": now,
                    "dedupe_key": f"{sender}-{text}-{i}-{now.timestamp()}",
                }
                for i in range(n)
            ],
        )


async def run(db: Database, cache: RuleCache | None = None) -> int:
    async with db.begin() as conn:
        done, _ = await run_rules(
            conn, utc_now(), commit_lag=0, region=None, cache=cache or RuleCache()
        )
    return done


async def count(db: Database, table: Any, *where: Any) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def start_cursor(db: Database) -> None:
    assert await run(db) == 0  # the cursor starts at the newest message


async def test_crud_audited_and_dry_run(web: WebEnv) -> None:
    status, made = await create(
        web,
        {
            "name": "info",
            "match": {"keyword": "info"},
            "actions": [{"type": "reply", "text": "Price: {rest}"}],
        },
    )
    assert status == 201, made
    rule_id = made["id"]
    listed = await (await web.client.get("/api/v1/rules", headers=web.bearer("viewer"))).json()
    assert [r["name"] for r in listed["rules"]] == ["info"]
    put = await web.client.put(
        f"/api/v1/rules/{rule_id}",
        json={
            "name": "info2",
            "match": {"keyword": "info"},
            "actions": [{"type": "tag", "tag": "x"}],
            "stop": True,
        },
        headers=web.bearer("operator"),
    )
    assert put.status == 200 and (await put.json())["stop"] is True
    tried = await web.client.post(
        "/api/v1/rules/test",
        json={"text": "INFO now", "from": "ACME"},
        headers=web.bearer("operator"),
    )
    result = await tried.json()
    assert [m["name"] for m in result["matched"]] == ["info2"] and result["replyable"] is False
    gone = await web.client.delete(f"/api/v1/rules/{rule_id}", headers=web.bearer("operator"))
    assert gone.status == 200
    assert (
        await web.client.get(f"/api/v1/rules/{rule_id}", headers=web.bearer("viewer"))
    ).status == 404
    async with web.db.read() as conn:
        actions = [row[0] for row in await conn.execute(select(audit_log.c.action))]
    assert [a for a in actions if a.startswith("rule.")] == [
        "rule.create",
        "rule.update",
        "rule.delete",
    ]


async def test_hostile_rules_refused(web: WebEnv) -> None:
    status, body = await create(
        web, {"name": "x", "match": {"regex": "(a|aa)+$"}, "actions": [{"type": "tag", "tag": "t"}]}
    )
    assert status == 422 and body["error"]["code"] == "slow_regex"
    status, body = await create(
        web, {"name": "x", "actions": [{"type": "webhook", "url": "http://127.0.0.1/x"}]}
    )
    assert status == 422 and body["error"]["code"] == "invalid_url"
    status, body = await create(web, {"name": "x" * 101, "actions": [{"type": "tag", "tag": "t"}]})
    assert status == 422
    status, body = await create(web, {"name": "x", "actions": [{"type": "tag", "tag": "t"}] * 11})
    assert status == 422
    viewer = await web.client.post(
        "/api/v1/rules", json={"name": "x", "actions": []}, headers=web.bearer("viewer")
    )
    assert viewer.status == 403


async def test_a_rule_after_one_at_the_last_position_is_stored(web: WebEnv) -> None:
    """A new rule goes after the last one, never past the position column's range (after a
    rule at 2^31 - 1 it was a 500)."""
    tag = [{"type": "tag", "tag": "t"}]
    status, last = await create(web, {"name": "last", "position": 2**31 - 1, "actions": tag})
    assert status == 201, last
    status, after = await create(web, {"name": "after", "actions": tag})
    assert status == 201, after
    assert after["position"] == 2**31 - 1
    listed = await (await web.client.get("/api/v1/rules", headers=web.bearer("viewer"))).json()
    assert [r["name"] for r in listed["rules"]] == ["last", "after"]


async def test_whole_numbers_as_json_schema_reads_them(web: WebEnv) -> None:
    """20.0 is an integer to JSON Schema, so the document allows it (it was refused as a
    wrong_type); "20" and true are not."""
    tag = [{"type": "tag", "tag": "t"}]
    status, made = await create(web, {"name": "a", "position": 20.0, "actions": tag})
    assert (status, made["position"]) == (201, 20)
    group = [{"type": "add_to_group", "group_id": 7.0}]
    status, made = await create(web, {"name": "b", "actions": group})
    assert (status, made["actions"]) == (201, [{"type": "add_to_group", "group_id": 7}])
    for position in ("20", True, 20.5, 2.0**31):
        status, body = await create(web, {"name": "c", "position": position, "actions": tag})
        assert (status, body["error"]["field"]) == (422, "position"), position


async def test_paths_are_ids_as_the_document_says(web: WebEnv) -> None:
    """/api/v1/rules/{id} takes digits only: /api/v1/rules/test is its own resource (a PUT
    there was a 404 "id must be a number" instead of a 405 naming POST)."""
    operator = web.bearer("operator")
    put = await web.client.put("/api/v1/rules/test", json={}, headers=operator)
    assert (put.status, put.headers.get("Allow")) == (405, "POST")
    for path in ("/api/v1/rules/x1", "/api/v1/rules/-1", "/api/v1/rules/1.0"):
        assert (await web.client.get(path, headers=operator)).status == 404, path


async def test_actions_run_once_and_loops_are_stopped(web: WebEnv) -> None:
    db = web.db
    async with db.begin() as conn:
        group = (
            await conn.execute(
                insert(contact_groups).values(name="club").returning(contact_groups.c.id)
            )
        ).scalar_one()
    await start_cursor(db)
    await create(
        web,
        {
            "name": "join",
            "match": {"keyword": "join"},
            "actions": [
                {"type": "reply", "text": "Welcome {from}"},
                {"type": "add_to_group", "group_id": group},
                {
                    "type": "forward_email",
                    "to": "ops@example.com",
                    "subject": "{text}\r\nBcc: x@y.z",
                },
                {"type": "tag", "tag": "member"},
            ],
        },
    )
    await receive(db, "JOIN")
    cache = RuleCache()
    assert await run(db, cache) == 1
    assert await run(db, cache) == 0  # nothing twice
    assert await count(db, messages, messages.c.recipient == SENDER) == 1
    assert await count(db, contact_group_members) == 1
    assert await count(db, incoming_tags) == 1
    async with db.read() as conn:
        subject = await conn.scalar(select(outgoing_mail.c.subject))
    assert subject is not None and "\n" not in subject
    for _ in range(3):
        await receive(db, "join")
    await run(db, cache)
    # three replies within two minutes: the sender answers as fast as a machine
    assert await count(db, messages, messages.c.recipient == SENDER) == 3
    await receive(db, "JOIN", sender="ACME")
    await receive(db, "JOIN", sender="+4930")  # too short: a short code
    await run(db, cache)
    assert await count(db, messages) == 3
    async with db.read() as conn:
        problem = await conn.scalar(select(rules.c.last_error))
    assert problem is not None and "not a phone number" in problem


async def test_rate_limit_per_sender_per_hour(web: WebEnv) -> None:
    db = web.db
    await start_cursor(db)
    await create(web, {"name": "echo", "actions": [{"type": "reply", "text": "got it"}]})
    await receive(db, "hello")
    await run(db)
    await receive(db, "got it")  # another auto-responder answering with our own reply
    await run(db)
    assert await count(db, messages) == 1
    async with db.begin() as conn:  # replies older than the ping-pong window
        await conn.execute(
            rule_replies.update().values(at=utc_now() - timedelta(minutes=30), text="old")
        )
    for _ in range(8):
        await receive(db, "hello")
        await run(db)
        async with db.begin() as conn:
            await conn.execute(
                rule_replies.update().values(at=utc_now() - timedelta(minutes=30), text="old")
            )
    assert await count(db, messages) == 5  # MAX_REPLIES_PER_HOUR


async def test_deleted_group_and_opted_out_recipient(web: WebEnv) -> None:
    db = web.db
    async with db.begin() as conn:
        group = (
            await conn.execute(
                insert(contact_groups).values(name="gone").returning(contact_groups.c.id)
            )
        ).scalar_one()
        await conn.execute(
            insert(suppressions).values(
                number="+5511987650009", kind="opt_out", source="api", created_by="t"
            )
        )
    await start_cursor(db)
    await create(
        web,
        {
            "name": "fwd",
            "actions": [
                {
                    "type": "forward_sms",
                    "group_id": group,
                    "to": ["+5511987650009", "+5511987650008"],
                }
            ],
        },
    )
    async with db.begin() as conn:
        await conn.execute(contact_groups.delete())
    await receive(db, "anything")
    assert await run(db) == 1
    async with db.read() as conn:
        sent = [row[0] for row in await conn.execute(select(messages.c.recipient))]
        problem = await conn.scalar(select(rules.c.last_error))
    assert sent == ["+5511987650008"]
    assert (problem is not None and "recipients left out" in problem) or "no longer exists" in (
        problem or ""
    )


async def test_two_runners_evaluate_each_message_once(web: WebEnv) -> None:
    db = web.db
    await start_cursor(db)
    await create(
        web, {"name": "hook", "actions": [{"type": "webhook", "url": "https://example.com/h"}]}
    )
    await receive(db, "m", n=300)
    caches = [RuleCache(), RuleCache()]

    async def drain(cache: RuleCache) -> None:
        for _ in range(5):
            await run(db, cache)

    await asyncio.gather(*(drain(c) for c in caches))
    assert await count(db, webhook_deliveries) == 300
