"""Kannel's ``/cgi-bin/sendsms``: POST works for key-authenticated clients without a CSRF token,
a cookie-authenticated POST still needs one, the recipient cap holds on every path, and failed
keys are throttled and logged per client address."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import FormData
from sqlalchemy import func, select

from gatewayd.config import Settings
from gatewayd.store import messages
from tests.integration.web.conftest import LogCapture, WebEnv, login
from webui.api.models import MAX_RECIPIENTS
from webui.options import WebOptions, options_from_settings

NUMBER = "+5511987654321"
FAILURE_LIMIT = 3


@pytest.fixture
def web_options() -> Any:
    def make(settings: Settings) -> WebOptions:
        return options_from_settings(
            settings, run_dispatcher=False, address_failure_limit=FAILURE_LIMIT
        )

    return make


def kannel(web: WebEnv, **extra: str) -> dict[str, str]:
    return {
        "username": "operator-key",
        "password": web.keys["operator"],
        "to": NUMBER,
        "text": "from kannel",
        **extra,
    }


async def queued(web: WebEnv) -> int:
    async with web.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(messages))).scalar_one())


async def test_post_with_a_key_needs_no_csrf_token(web: WebEnv) -> None:
    answer = await web.client.post("/cgi-bin/sendsms", data=kannel(web))
    assert (answer.status, await answer.text()) == (202, "0: Accepted for delivery")
    multipart = FormData(kannel(web, text="as multipart"))
    multipart.add_field("file", b"ignored", filename="x.bin")
    answer = await web.client.post("/cgi-bin/sendsms", data=multipart)
    assert answer.status == 202, await answer.text()
    assert await queued(web) == 2


async def test_a_session_is_no_credential_and_a_dummy_header_skips_no_csrf(
    web: WebEnv,
) -> None:
    assert (await login(web.client, "operator")).status in (302, 303)
    token = (await (await web.client.get("/api/v1/me")).json())["csrf_token"]
    dummy = {"Authorization": "Bearer not-a-key"}
    for headers in ({}, {"X-CSRF-Token": token}, dummy):
        answer = await web.client.post(
            "/cgi-bin/sendsms", data={"to": NUMBER, "text": "x"}, headers=headers
        )
        assert (answer.status, await answer.text()) == (403, "Authorization failed for sendsms")
    assert await queued(web) == 0
    web.client.session.cookie_jar.clear()
    await web.client.get("/login")
    signed = await web.client.post(
        "/login",
        headers=dummy,
        allow_redirects=False,
        data={"username": "operator", "password": "x"},
    )
    assert signed.status == 403, "a dummy Authorization header does not skip the login's CSRF"


@pytest.mark.parametrize("auth_header", [None, "Bearer dummy"])
async def test_recipient_cap_on_every_path(web: WebEnv, auth_header: str | None) -> None:
    headers = {"Authorization": auth_header} if auth_header else {}
    too_many = " ".join([NUMBER] * (MAX_RECIPIENTS + 1))
    as_form = await web.client.post(
        "/cgi-bin/sendsms", data=kannel(web, to=too_many), headers=headers
    )
    multipart = FormData(kannel(web, to=too_many))
    multipart.add_field("file", b"", filename="x.bin")
    as_multipart = await web.client.post("/cgi-bin/sendsms", data=multipart, headers=headers)
    in_query = await web.client.post(
        "/cgi-bin/sendsms", params=kannel(web), data={"to": too_many}, headers=headers
    )
    for answer in (as_form, as_multipart, in_query):
        text = await answer.text()
        assert (answer.status, text) == (400, f"Too many receivers (at most {MAX_RECIPIENTS})")
    assert await queued(web) == 0


async def test_failed_keys_are_throttled_and_logged(web: WebEnv, log_capture: LogCapture) -> None:
    attempts = [
        kannel(web, password="smsgw_wrong"),
        kannel(web, username="someone-else"),
        kannel(web, username="viewer-key", password=web.keys["viewer"]),
    ]
    for attempt in attempts:
        answer = await web.client.get("/cgi-bin/sendsms", params=attempt)
        assert (answer.status, await answer.text()) == (403, "Authorization failed for sendsms")
    blocked = await web.client.post("/cgi-bin/sendsms", data=kannel(web))
    assert blocked.status == 429, "the address is blocked, even with the right key"
    assert await queued(web) == 0
    failures = log_capture.events("Failed API key")
    assert [line["reason"] for line in failures] == [
        "unknown_key",
        "wrong_username",
        "role_too_small",
        "address throttled",
    ]
    assert {line["client_address"] for line in failures} == {"127.0.0.1"}
    assert all(web.keys["operator"] not in str(line) for line in failures)
    assert failures[0]["username"] == "operator-key"
