"""Sign-in, sessions, CSRF, lockout, roles and security headers against a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.web.conftest import (
    PASSWORD,
    LogCapture,
    OptionsFactory,
    WebEnv,
    csrf_from,
    login,
    make_web_env,
    settings_for,
)


@pytest.fixture
async def web_behind_proxy(db_url: str, web_options: OptionsFactory) -> AsyncIterator[WebEnv]:
    """The app with loopback (where the test client connects from) as its trusted proxy."""
    settings = settings_for(db_url, SMSGW_TRUSTED_PROXIES="127.0.0.1/32")
    async for env in make_web_env(settings, web_options):
        yield env


async def test_health_needs_no_login(web: WebEnv) -> None:
    response = await web.client.get("/api/health")
    body = await response.json()
    assert response.status == 200
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "disabled"
    assert body["checks"]["gateway"] == "stale"
    assert body["status"] == "degraded"


async def test_security_headers_on_every_response(web: WebEnv) -> None:
    for path in ("/api/health", "/login", "/no-such-page"):
        response = await web.client.get(path)
        headers = response.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"], path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers


async def test_forwarded_proto_from_an_untrusted_peer_is_ignored(web: WebEnv) -> None:
    page = await web.client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in page.headers
    assert "Secure" not in page.headers.get("Set-Cookie", "")


async def test_hsts_and_secure_cookie_behind_https_proxy(web_behind_proxy: WebEnv) -> None:
    web = web_behind_proxy
    page = await web.client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = page.headers.get("Set-Cookie", "")
    assert "smsgw_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


async def test_pages_redirect_to_login_and_api_answers_401(web: WebEnv) -> None:
    page = await web.client.get("/", allow_redirects=False)
    assert page.status == 302
    assert page.headers["Location"].startswith("/login?next=")
    api = await web.client.get("/api/v1/messages")
    assert api.status == 401
    assert (await api.json())["error"]["code"] == "unauthorized"


async def test_login_rotates_the_session_and_old_token_is_dead(web: WebEnv) -> None:
    page = await web.client.get("/login")
    before_token = csrf_from(await page.text())
    before_cookie = web.client.session.cookie_jar.filter_cookies(web.client.make_url("/"))
    response = await web.client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": before_token},
        allow_redirects=False,
    )
    assert response.status == 303
    after_cookie = web.client.session.cookie_jar.filter_cookies(web.client.make_url("/"))
    assert after_cookie["smsgw_session"].value != before_cookie["smsgw_session"].value
    home = await web.client.get("/", allow_redirects=False)
    assert home.status == 200
    stale = await web.client.post(
        "/logout", data={"csrf_token": before_token}, allow_redirects=False
    )
    assert stale.status == 403


async def test_login_without_csrf_token_is_refused(web: WebEnv) -> None:
    await web.client.get("/login")
    response = await web.client.post(
        "/login", data={"username": "admin", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403


@pytest.mark.parametrize("username", ["ad\x00min", "\x00", "admin\x00"])
async def test_a_name_holding_a_nul_is_refused_like_any_wrong_name(
    web: WebEnv, username: str
) -> None:
    """No stored name holds one (PostgreSQL text cannot), so it is a refusal, never a 500."""
    token = csrf_from(await (await web.client.get("/login")).text())
    for _ in range(2):
        response = await web.client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
        )
        assert response.status == 401, await response.text()
    assert (await login(web.client, "admin")).status == 303


async def test_five_wrong_passwords_refuse_that_name_to_that_address(
    web: WebEnv, log_capture: LogCapture
) -> None:
    for _ in range(5):
        response = await login(web.client, "operator", "wrong password!")
        assert response.status == 401
    refused = await login(web.client, "operator", PASSWORD)
    assert refused.status == 429, "even the right password, from this address"
    failed = log_capture.events("Failed login")
    assert len(failed) == 6
    assert all(line["username"] == "operator" for line in failed)
    assert all(line["client_address"] == "127.0.0.1" for line in failed)
    assert failed[-1]["reason"] == "throttled"
    assert (await login(web.client, "viewer")).status == 303, "other names are still open"
