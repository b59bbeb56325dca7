"""Hostile input against the web service, in-process on PostgreSQL: never a 5xx.

Oversize, deeply nested and invalid UTF-8 bodies; Unicode digits where numbers are parsed;
SQL and template injection in every field (stored and shown verbatim); CSRF without a token;
session fixation; revoked API keys; a viewer attempting admin actions; path traversal in
static files; and a stateful schemathesis run over the whole API.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from markupsafe import escape
from sqlalchemy import select

from gatewayd.store import Role, api_keys
from tests.integration.core_flow.harness import eventually
from tests.integration.web.conftest import (
    PASSWORD,
    WebEnv,
    csrf_from,
    login,
    make_web_env,
    settings_for,
)
from tests.support.http_checks import no_5xx
from webui.auth.apikeys import create_api_key, revoke_api_key
from webui.auth.keycache import TTL_SECONDS as KEY_CACHE_TTL
from webui.options import options_from_settings

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web.NotAppKeyWarning")
SESSION_COOKIE = "smsgw_session"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
INJECTIONS = [
    "'; DROP TABLE messages; --",
    '" OR 1=1 --',
    "{{ 7*7 }}",
    "{% for x in range(3) %}X{% endfor %}",
    "${7*7} #{7*7} <%= 7*7 %>",
    "<script>alert(1)</script>",
    "Robert'); DELETE FROM users;--",
    "nul \x00 and bell \x07",
]


@pytest.fixture
async def web(pg_url: str) -> AsyncIterator[WebEnv]:
    def options(settings):  # type: ignore[no-untyped-def]
        return options_from_settings(settings, run_dispatcher=False)

    async for env in make_web_env(settings_for(pg_url), options):
        yield env


async def signed_in(web: WebEnv, role: str) -> str:
    """Log in as the seeded user of ``role``; the CSRF token of the next form."""
    answer = await login(web.client, role)
    assert answer.status in (302, 303), answer.status
    page = await web.client.get("/compose")
    return csrf_from(await page.text())


async def test_bodies_too_big_too_deep_or_not_utf8(web: WebEnv) -> None:
    url = "/api/v1/messages"
    headers = {**web.bearer("operator"), "Content-Type": "application/json"}
    cases = {
        "oversize": b'{"to": "+5511987654321", "text": "' + b"x" * (9 * 1024 * 1024) + b'"}',
        "deep": b"[" * 100_000 + b"]" * 100_000,
        "deep object": b'{"to": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
        "invalid utf-8": b'{"to": "+5511987654321", "text": "\xff\xfe\xc3("}',
        "not json": b"\x00\x01\x02",
        "empty": b"",
    }
    for name, body in cases.items():
        answer = await no_5xx(await web.client.post(url, data=body, headers=headers))
        assert 400 <= answer.status < 500, (name, answer.status)


async def test_unicode_digits_and_odd_query_values(web: WebEnv) -> None:
    token = await signed_in(web, "admin")
    for path in (
        "/outbox?before=²",
        "/outbox?batch=٣",
        "/outbox?before=-²",
        "/admin/audit?before=¹",
        "/outbox?before=99999999999999999999999",
        "/api/v1/messages?limit=²",
        "/api/v1/messages?cursor=%00",
        "/inbox/%00",
        "/modems/%2e%2e",
    ):
        await no_5xx(await web.client.get(path, headers=web.bearer("operator")))
        await no_5xx(await web.client.get(path))
    forms = {
        "/groups": {"csrf_token": token, "name": "g", "id": "²", "member": ["¹", "3"]},
        "/compose": {
            "csrf_token": token,
            "to": "+5511987654321",
            "text": "hi",
            "contact": ["²"],
            "group": ["٣"],
        },
    }
    for path, form in forms.items():
        data = [
            (k, v)
            for k, values in form.items()
            for v in (values if isinstance(values, list) else [values])
        ]
        await no_5xx(await web.client.post(path, data=data, allow_redirects=False))


async def test_injection_attempts_are_stored_and_shown_verbatim(web: WebEnv) -> None:
    token = await signed_in(web, "admin")
    for n, attempt in enumerate(INJECTIONS):
        api = await no_5xx(
            await web.client.post(
                "/api/v1/messages",
                headers=web.bearer("operator"),
                json={"to": "+5511987654321", "text": attempt},
            )
        )
        if "\x00" in attempt:
            assert api.status == 422, "NUL cannot be stored: refused, not a 500"
            continue
        assert api.status == 202
        message = await api.json()
        assert message["text"] == attempt
        shown = await no_5xx(
            await web.client.get(
                f"/api/v1/messages/{message['id']}", headers=web.bearer("operator")
            )
        )
        assert (await shown.json())["text"] == attempt
        await no_5xx(
            await web.client.post(
                "/api/v1/messages",
                headers=web.bearer("operator"),
                json={"to": attempt, "text": "x"},
            )
        )
        forms = [
            ("/contacts", {"name": attempt, "number": f"+551198765{n:04d}"}),
            ("/groups", {"name": attempt}),
            ("/templates", {"name": attempt, "text": attempt}),
            (
                "/admin/users",
                {
                    "username": f"u{n}{attempt[:20]}",
                    "role": "viewer",
                    "password": "a long enough password 1",
                },
            ),
            ("/admin/api-keys", {"name": attempt, "role": "viewer"}),
        ]
        for path, form in forms:
            await no_5xx(
                await web.client.post(
                    path, data={"csrf_token": token, **form}, allow_redirects=False
                )
            )
        await no_5xx(await web.client.get(f"/outbox?to={attempt}"))
        await no_5xx(
            await web.client.get(f"/api/v1/messages?to={attempt}", headers=web.bearer("operator"))
        )
    for page in ("/outbox", "/contacts", "/admin/api-keys", "/admin/audit", "/"):
        text = await (await no_5xx(await web.client.get(page))).text()
        assert "<script>alert(1)</script>" not in text, f"{page} shows markup unescaped"
    contacts = await (await web.client.get("/contacts")).text()
    for attempt in INJECTIONS:
        if "\x00" not in attempt:
            assert str(escape(attempt)) in contacts, f"{attempt!r} not shown verbatim"
    assert "{{ 7*7 }}" in contacts and "XXX" not in contacts, "templates are not evaluated"
    await no_5xx(
        await web.client.post("/login", data={"username": INJECTIONS[0], "password": INJECTIONS[1]})
    )


async def test_csrf_fixation_revoked_keys_and_viewer(web: WebEnv) -> None:
    await web.client.get("/login")
    planted = {c.key: c.value for c in web.client.session.cookie_jar}.get(SESSION_COOKIE)
    assert planted, "a session cookie before login (what an attacker could plant)"
    await signed_in(web, "operator")
    after = {c.key: c.value for c in web.client.session.cookie_jar}.get(SESSION_COOKIE)
    assert after and after != planted, "a new session after login"
    async with aiohttp.ClientSession() as attacker:
        stale = await attacker.get(
            web.client.make_url("/compose"),
            allow_redirects=False,
            headers={"Cookie": f"{SESSION_COOKIE}={planted}"},
        )
        assert stale.status in (302, 303, 401), "the planted cookie is not signed in"

    refused = await no_5xx(
        await web.client.post(
            "/compose", data={"to": "+5511987654321", "text": "no token"}, allow_redirects=False
        )
    )
    assert refused.status in (400, 403), refused.status
    forged = await no_5xx(
        await web.client.post(
            "/compose",
            data={"to": "+5511987654321", "text": "bad", "csrf_token": "forged"},
            allow_redirects=False,
        )
    )
    assert forged.status in (400, 403), forged.status
    listed = await (await web.client.get("/api/v1/messages", headers=web.bearer("operator"))).json()
    assert not [
        m
        for m in listed.get("messages", listed.get("items", []))
        if m["text"] in ("no token", "bad")
    ]

    async with web.db.begin() as conn:
        new = await create_api_key(conn, "short-lived", Role.OPERATOR)
    bearer = {"Authorization": f"Bearer {new.key}"}
    assert (await web.client.get("/api/v1/messages", headers=bearer)).status == 200
    async with web.db.begin() as conn:
        key_id = (
            await conn.execute(select(api_keys.c.id).where(api_keys.c.name == "short-lived"))
        ).scalar_one()
        assert await revoke_api_key(conn, key_id)

    async def key_refused() -> bool:  # revoked elsewhere: within the key cache's few seconds
        answer = await no_5xx(await web.client.get("/api/v1/messages", headers=bearer))
        return answer.status == 401

    await eventually(key_refused, timeout=KEY_CACHE_TTL + 3, what="the revoked key refused")

    viewer_post = await no_5xx(
        await web.client.post(
            "/api/v1/messages",
            headers=web.bearer("viewer"),
            json={"to": "+5511987654321", "text": "v"},
        )
    )
    assert viewer_post.status == 403
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as viewer:
        login_page = await viewer.get(web.client.make_url("/login"))
        await viewer.post(
            web.client.make_url("/login"),
            data={
                "username": "viewer",
                "password": PASSWORD,
                "csrf_token": csrf_from(await login_page.text()),
            },
        )
        home = await viewer.get(web.client.make_url("/"))
        token = csrf_from(await home.text())
        for path, form in [
            (
                "/admin/users",
                {"username": "evil", "role": "admin", "password": "long password 12345"},
            ),
            ("/admin/api-keys", {"name": "evil", "role": "operator"}),
            ("/admin/api-keys/1/revoke", {}),
            ("/admin/users/1", {"role": "viewer"}),
            ("/modems/sim0/restart", {}),
        ]:
            answer = await no_5xx(
                await viewer.post(
                    web.client.make_url(path),
                    allow_redirects=False,
                    data={"csrf_token": token, **form},
                )
            )
            assert answer.status in (403, 404), (path, answer.status)
        for path in ("/admin/users", "/admin/api-keys", "/admin/audit"):
            url = web.client.make_url(path)
            answer = await no_5xx(await viewer.get(url, allow_redirects=False))
            assert answer.status in (403, 404), (path, answer.status)


async def test_path_traversal_in_static_files(web: WebEnv) -> None:
    attempts = [
        "/static/../../etc/passwd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2f..%2fetc%2fpasswd",
        "/static/%252e%252e/%252e%252e/etc/passwd",
        "/static/....//....//etc/passwd",
        "/static/..%5c..%5cetc%5cpasswd",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/..%00/etc/passwd",
        "/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
        "/static/../../../../proc/self/environ",
        "/static/../app.py",
        "/static/%2e%2e/app.py",
    ]
    for path in attempts:
        answer = await no_5xx(await web.client.get(path, allow_redirects=False))
        body = await answer.text(errors="replace")
        assert "root:" not in body and "SMSGW" not in body and "create_app" not in body, path
        assert answer.status in (400, 403, 404), (path, answer.status)


@pytest.mark.timeout(300)  # the run itself stops at --max-time; starting it is slow under load
async def test_stateful_schemathesis_over_the_whole_api(web: WebEnv, tmp_path: Path) -> None:
    url = str(web.client.make_url("/api/openapi.json"))
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "run",
        url,
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance,missing_required_header,unsupported_method,ignored_auth",
        "--phases",
        "examples,stateful",
        "--max-examples",
        "12",
        "--seed",
        "7",
        "--header",
        f"Authorization: Bearer {web.keys['operator']}",
        "--request-timeout",
        "20",
        "--exclude-path",
        "/api/v1/modems/{name}/ussd",
        "--max-time",
        "60",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
        cwd=tmp_path,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 240)
    finally:
        if process.returncode is None:  # past the deadline: never leave it running
            process.kill()
            await process.wait()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    assert "server error" not in text.lower() or "0 server" in text.lower(), text[-3000:]
