"""``/api/v1/messages``: sending, validation, idempotency, batches, listing, cancel, roles."""

from __future__ import annotations

from typing import Any

from tests.integration.web.conftest import WebEnv

NUMBER = "+5511987654321"


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+55119{start + i:08d}" for i in range(count)]


async def send(web: WebEnv, body: Any, role: str = "operator", **headers: str) -> Any:
    return await web.client.post(
        "/api/v1/messages", json=body, headers={**web.bearer(role), **headers}
    )


async def test_send_one_message_is_queued(web: WebEnv) -> None:
    response = await send(web, {"to": NUMBER, "text": "Hello, world"})
    body = await response.json()
    assert response.status == 202
    assert body["to"] == NUMBER and body["status"] == "queued"
    assert body["segments"] == 1 and body["encoding"] == "gsm7"
    assert body["created_by"].startswith("api_key:")
    shown = await web.client.get(f"/api/v1/messages/{body['id']}", headers=web.bearer("viewer"))
    detail = await shown.json()
    assert detail["timeline"][0]["status"] == "queued"


async def test_idempotency_key_returns_the_same_message(web: WebEnv) -> None:
    first = await send(web, {"to": NUMBER, "text": "once"}, **{"Idempotency-Key": "k-1"})
    again = await send(web, {"to": NUMBER, "text": "once"}, **{"Idempotency-Key": "k-1"})
    assert (first.status, again.status) == (202, 200)
    assert (await first.json())["id"] == (await again.json())["id"]
    listed = await web.client.get("/api/v1/messages", headers=web.bearer("viewer"))
    assert len((await listed.json())["messages"]) == 1


async def test_precise_validation_errors(web: WebEnv) -> None:
    cases = [
        ({"to": "12345", "text": "x"}, "invalid_number", "to"),
        ({"to": NUMBER, "text": ""}, "empty_text", "text"),
        ({"to": NUMBER, "text": "x" * 40000}, "text_too_long", "text"),
        (
            {"to": NUMBER, "text": "x", "send_at": "2026-12-01T09:00:00"},
            "invalid_send_at",
            "send_at",
        ),
        ({"to": NUMBER, "text": "x", "bogus": 1}, "unknown_field", "bogus"),
        ({"to": NUMBER, "text": "x", "priority": "5"}, "wrong_type", "priority"),
        ({"to": NUMBER, "text": "x", "modem": "nope"}, "unknown_modem", "modem"),
        ({"text": "x"}, "missing_field", "to"),
    ]
    for body, code, field in cases:
        response = await send(web, body)
        error = (await response.json())["error"]
        assert response.status == 422, body
        assert (error["code"], error.get("field")) == (code, field), body


async def test_invalid_json_and_media_type(web: WebEnv) -> None:
    bad = await web.client.post(
        "/api/v1/messages",
        data=b"{not json",
        headers={**web.bearer("operator"), "Content-Type": "application/json"},
    )
    assert bad.status == 400
    assert (await bad.json())["error"]["code"] == "invalid_json"
    form = await web.client.post(
        "/api/v1/messages", data={"to": NUMBER}, headers=web.bearer("operator")
    )
    assert form.status == 415


async def test_body_too_large_is_413_json(web: WebEnv) -> None:
    huge = b'{"to": "+5511987654321", "text": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    response = await web.client.post(
        "/api/v1/messages",
        data=huge,
        headers={**web.bearer("operator"), "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "body_too_large"


async def test_batch_reports_each_bad_recipient_or_skips_them(web: WebEnv) -> None:
    recipients = [*numbers(3), "123", "+1"]
    refused = await send(web, {"to": recipients, "text": "batch"})
    error = (await refused.json())["error"]
    assert refused.status == 422 and error["code"] == "invalid_recipients"
    assert [(p["index"], p["to"]) for p in error["problems"]] == [(3, "123"), (4, "+1")]
    accepted = await send(web, {"to": recipients, "text": "batch", "skip_invalid": True})
    body = await accepted.json()
    assert accepted.status == 202
    assert [m["to"] for m in body["messages"]] == numbers(3)
    assert [p["index"] for p in body["skipped"]] == [3, 4]
    assert len({m["batch_id"] for m in body["messages"]}) == 1


async def test_large_batch_in_one_request(web: WebEnv) -> None:
    response = await send(web, {"to": numbers(2000), "text": "hello all"})
    assert response.status == 202
    assert len((await response.json())["messages"]) == 2000


async def test_pagination_walks_everything_once(web: WebEnv) -> None:
    await send(web, {"to": numbers(23), "text": "page me"})
    seen: list[int] = []
    cursor = None
    while True:
        query = "?limit=5" + (f"&cursor={cursor}" if cursor else "")
        page = await (
            await web.client.get("/api/v1/messages" + query, headers=web.bearer("viewer"))
        ).json()
        seen += [m["id"] for m in page["messages"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 23 and len(set(seen)) == 23
    assert seen == sorted(seen, reverse=True)
    filtered = await web.client.get(
        "/api/v1/messages",
        params={"to": numbers(1)[0], "status": "queued"},
        headers=web.bearer("viewer"),
    )
    assert len((await filtered.json())["messages"]) == 1
    bad = await web.client.get("/api/v1/messages?cursor=zzz", headers=web.bearer("viewer"))
    assert bad.status == 422


async def test_cancel_then_too_late(web: WebEnv) -> None:
    created = await (await send(web, {"to": NUMBER, "text": "cancel me"})).json()
    url = f"/api/v1/messages/{created['id']}/cancel"
    first = await web.client.post(url, headers=web.bearer("operator"))
    assert first.status == 200 and (await first.json())["status"] == "cancelled"
    second = await web.client.post(url, headers=web.bearer("operator"))
    assert second.status == 409 and (await second.json())["error"]["code"] == "too_late"
    missing = await web.client.post(
        "/api/v1/messages/999999/cancel", headers=web.bearer("operator")
    )
    assert missing.status == 404


async def test_viewer_cannot_send_or_cancel_and_bad_keys_get_401(web: WebEnv) -> None:
    assert (await send(web, {"to": NUMBER, "text": "x"}, role="viewer")).status == 403
    cancel = await web.client.post("/api/v1/messages/1/cancel", headers=web.bearer("viewer"))
    assert cancel.status == 403
    unknown = await web.client.get(
        "/api/v1/messages", headers={"Authorization": "Bearer smsgw_nope"}
    )
    assert unknown.status == 401
    none = await web.client.get("/api/v1/messages")
    assert none.status == 401


async def test_csv_upload(web: WebEnv) -> None:
    from aiohttp import FormData

    form = FormData()
    csv_text = "number,text\n" + "\n".join(f"{n},hi {i}" for i, n in enumerate(numbers(4)))
    csv_text += "\n" + numbers(1, 50)[0] + "\n"
    form.add_field("file", csv_text.encode(), filename="list.csv", content_type="text/csv")
    form.add_field("text", "default text")
    response = await web.client.post(
        "/api/v1/messages/batch", data=form, headers=web.bearer("operator")
    )
    body = await response.json()
    assert response.status == 202, body
    assert [m["text"] for m in body["messages"]] == ["hi 0", "hi 1", "hi 2", "hi 3", "default text"]
