"""Values at the edges of their types, each answered with a 4xx and the usual error body.

Ids above int64 in the paths and forms of the pages and the API, cursors holding huge numbers,
dates whose UTC offset pushes them past the calendar's ends, an ``Idempotency-Key`` that is not
UTF-8, a huge Kannel ``dlr-mask`` and one recipient more than a request may carry.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientResponse

from tests.integration.web.conftest import WebEnv, csrf_from, login, make_web_env, settings_for
from webui.api.models import MAX_RECIPIENTS
from webui.options import options_from_settings

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web.NotAppKeyWarning")

BEYOND_INT64 = (str(2**63), "9" * 40)
EDGE_DATES = ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00")
NUMBER = "+5511987654321"


@pytest.fixture
async def web(db_url: str) -> AsyncIterator[WebEnv]:
    def options(settings):  # type: ignore[no-untyped-def]
        return options_from_settings(settings, run_dispatcher=False)

    async for env in make_web_env(settings_for(db_url), options):
        yield env


async def admin_token(web: WebEnv) -> str:
    answer = await login(web.client, "admin")
    assert answer.status in (302, 303), answer.status
    return csrf_from(await (await web.client.get("/compose")).text())


async def api_error(response: ClientResponse, status: int, code: str) -> dict[str, str]:
    body = await response.text()
    assert (response.status, response.content_type) == (status, "application/json"), body
    error: dict[str, str] = json.loads(body)["error"]
    assert error["code"] == code, error
    return error


def cursor(before: int) -> str:
    raw = json.dumps({"before": before}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_ids_beyond_int64_in_page_paths_and_forms(web: WebEnv) -> None:
    token = await admin_token(web)
    for big in BEYOND_INT64:
        for path in (f"/outbox/{big}", f"/outbox/{big}.json"):
            answer = await web.client.get(path)
            assert answer.status == 404, (path, answer.status, await answer.text())
        for path in (
            f"/outbox/{big}/cancel",
            f"/admin/users/{big}",
            f"/admin/api-keys/{big}/revoke",
            f"/admin/webhooks/{big}/replay",
            f"/contacts/{big}/delete",
            f"/groups/{big}/delete",
            f"/templates/{big}/delete",
        ):
            answer = await web.client.post(
                path, data={"csrf_token": token, "action": "unlock"}, allow_redirects=False
            )
            assert answer.status == 404, (path, answer.status, await answer.text())
        group = await web.client.post(
            "/groups",
            allow_redirects=False,
            data={"csrf_token": token, "name": "g", "id": big, "member": big},
        )
        compose = await web.client.post(
            "/compose",
            allow_redirects=False,
            data={"csrf_token": token, "to": NUMBER, "text": "x", "contact": big, "group": big},
        )
        for answer in (group, compose):
            assert answer.status < 500, (answer.url, answer.status, await answer.text())


async def test_ids_beyond_int64_in_api_paths(web: WebEnv) -> None:
    operator = web.bearer("operator")
    for big in BEYOND_INT64:
        await api_error(
            await web.client.get(f"/api/v1/messages/{big}", headers=operator), 404, "not_found"
        )
        await api_error(
            await web.client.post(f"/api/v1/messages/{big}/cancel", headers=operator),
            404,
            "not_found",
        )


async def test_cursors_holding_huge_numbers(web: WebEnv) -> None:
    await admin_token(web)
    for before in (2**63, 10**40, -(2**63) - 1):
        for path in (
            "/api/v1/messages",
            "/api/v1/inbox",
            "/api/v1/audit",
            "/api/v1/webhooks/deliveries",
        ):
            answer = await web.client.get(path, params={"cursor": cursor(before)})
            error = await api_error(answer, 422, "invalid_cursor")
            assert error["field"] == "cursor"


async def test_dates_at_the_calendars_edges(web: WebEnv) -> None:
    token = await admin_token(web)
    operator = web.bearer("operator")
    for when in EDGE_DATES:
        # A filter past the calendar's ends stands for its earliest or latest time.
        listed = await web.client.get("/api/v1/inbox", params={"since": when}, headers=operator)
        assert listed.status == 200, (when, await listed.text())
        sent = await web.client.post(
            "/api/v1/messages", headers=operator, json={"to": NUMBER, "text": "x", "send_at": when}
        )
        assert (await api_error(sent, 422, "invalid_send_at"))["field"] == "send_at"
        for offset in ("-840", "840"):
            page = await web.client.post(
                "/compose",
                allow_redirects=False,
                data={
                    "csrf_token": token,
                    "to": NUMBER,
                    "text": "x",
                    "send_at": when[:19],
                    "tz_offset": offset,
                },
            )
            assert page.status in (303, 422), (when, offset, page.status)


async def test_idempotency_key_that_is_not_utf8(web: WebEnv) -> None:
    body = json.dumps({"to": NUMBER, "text": "x"}).encode()
    host, port = web.client.host, web.client.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /api/v1/messages HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
        b"Authorization: Bearer " + web.keys["operator"].encode() + b"\r\n"
        b"Content-Type: application/json\r\nIdempotency-Key: key-\xff\xfe\x80\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 422 "), head
    assert json.loads(payload)["error"]["code"] == "invalid_idempotency_key"


async def test_huge_dlr_mask(web: WebEnv) -> None:
    for mask in ("9" * 40, str(2**31), "-1"):
        answer = await web.client.get(
            "/cgi-bin/sendsms",
            params={
                "username": "operator-key",
                "password": web.keys["operator"],
                "to": NUMBER,
                "text": "x",
                "dlr-mask": mask,
                "dlr-url": "https://hooks.example.com/dlr",
            },
        )
        assert answer.status == 400, (mask, answer.status, await answer.text())
        assert (await answer.text()).startswith("Invalid dlr-url or dlr-mask")


async def test_one_recipient_too_many(web: WebEnv) -> None:
    recipients = [NUMBER] * (MAX_RECIPIENTS + 1)
    answer = await web.client.post(
        "/api/v1/messages", headers=web.bearer("operator"), json={"to": recipients, "text": "x"}
    )
    error = await api_error(answer, 422, "too_many_recipients")
    assert error["field"] == "to"


async def test_nul_characters_in_forms_and_parameters(web: WebEnv) -> None:
    """PostgreSQL cannot store U+0000: every door answers 400 instead of failing the insert."""
    token = await admin_token(web)
    for path, data in (
        ("/templates", {"name": "t\x00", "body": "x"}),
        ("/contacts", {"name": "c", "number": NUMBER, "notes": "\x00"}),
        ("/groups", {"name": "g\x00"}),
        ("/compose", {"to": NUMBER, "text": "a\x00b"}),
    ):
        answer = await web.client.post(
            path, data={"csrf_token": token, **data}, allow_redirects=False
        )
        assert answer.status == 400, (path, answer.status, await answer.text())
    kannel = await web.client.get(
        "/cgi-bin/sendsms",
        params={
            "username": "operator-key",
            "password": web.keys["operator"],
            "to": NUMBER,
            "text": "a\x00b",
        },
    )
    assert kannel.status == 400, (kannel.status, await kannel.text())
    api = await web.client.post(
        "/api/v1/messages", headers=web.bearer("operator"), json={"to": [NUMBER], "text": "a\x00b"}
    )
    assert 400 <= api.status < 500, (api.status, await api.text())
