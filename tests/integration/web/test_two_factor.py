"""Two-factor sign-in in one web process: enrolment from the account page, the code step after
the password (TOTP, replays refused, recovery codes spent once, wrong codes throttled), the
rule that admins must have it, and ``webui reset-2fa``; everything audited."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pyotp
from sqlalchemy import select

from gatewayd.store import audit_log, users
from tests.integration.web.conftest import PASSWORD, WebEnv, csrf_from, login

WEBUI = str(Path(sys.executable).with_name("webui"))


async def enrol(web: WebEnv) -> tuple[pyotp.TOTP, list[str]]:
    """Turn two-factor sign-in on for the signed-in user; the app's generator and the codes."""
    page = await web.client.get("/account/two-factor")
    html = await page.text()
    assert page.status == 200 and 'src="data:image/svg+xml' in html, "a QR code"
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', html)
    assert secret is not None
    totp = pyotp.TOTP(secret.group(1))
    wrong = await web.client.post(
        "/account/two-factor",
        data={"csrf_token": csrf_from(html), "action": "enable", "code": "000000"},
    )
    assert wrong.status == 422
    done = await web.client.post(
        "/account/two-factor",
        data={"csrf_token": csrf_from(html), "action": "enable", "code": totp.now()},
    )
    codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", await done.text())
    assert done.status == 200 and len(codes) == 10 and len(set(codes)) == 10
    assert done.headers["Cache-Control"] == "no-store"
    return totp, codes


async def sign_out(web: WebEnv) -> None:
    page = await web.client.get("/account")
    await web.client.post("/logout", data={"csrf_token": csrf_from(await page.text())})


async def send_code(web: WebEnv, code: str) -> Any:
    page = await web.client.get("/login/code", allow_redirects=False)
    assert page.status == 200, "waiting for the second step"
    return await web.client.post(
        "/login/code",
        allow_redirects=False,
        data={"csrf_token": csrf_from(await page.text()), "code": code},
    )


async def actions(web: WebEnv, target: str) -> list[str]:
    async with web.db.read() as conn:
        rows = await conn.execute(
            select(audit_log.c.action).where(audit_log.c.target == target).order_by(audit_log.c.id)
        )
        return [row.action for row in rows]


async def test_enrol_then_sign_in_with_a_code_or_a_recovery_code(web: WebEnv) -> None:
    assert (await login(web.client, "operator")).status == 303
    totp, codes = await enrol(web)
    await sign_out(web)

    after_password = await login(web.client, "operator")
    assert after_password.headers["Location"] == "/login/code"
    assert (await web.client.get("/api/v1/me")).status == 401, "not signed in yet"
    code = totp.at(time.time() + 30)  # the enrolment spent this step's code
    assert (await send_code(web, code)).status == 303
    assert (await web.client.get("/api/v1/me")).status == 200
    await sign_out(web)

    await login(web.client, "operator")
    assert (await send_code(web, code)).status == 401, "a code is good once"
    assert (await send_code(web, codes[0].upper())).status == 303, "recovery code, any case"
    await sign_out(web)
    await login(web.client, "operator")
    assert (await send_code(web, codes[0])).status == 401, "a recovery code is good once"
    assert "user.two_factor.enable" in await actions(web, "operator")
    logins = await actions(web, "operator")
    assert logins.count("login") == 3 and logins.count("login.failed") == 2


async def test_wrong_codes_are_throttled_like_passwords(web: WebEnv) -> None:
    await login(web.client, "viewer")
    totp, _ = await enrol(web)
    await sign_out(web)
    await login(web.client, "viewer")
    answers = [(await send_code(web, f"{n:06d}")).status for n in range(4)]  # + 1 at enrolment
    assert answers == [401] * 4
    assert (await send_code(web, totp.at(time.time() + 30))).status == 429


async def test_admins_without_two_factor_are_held_at_enrolment_when_required(
    web: WebEnv,
) -> None:
    await login(web.client, "admin")
    page = await web.client.get("/admin/users")
    rule = await web.client.post(
        "/admin/users/two-factor",
        allow_redirects=False,
        data={"csrf_token": csrf_from(await page.text()), "required": "on"},
    )
    assert rule.status == 303
    held = await web.client.get("/outbox", allow_redirects=False)
    assert held.status == 303 and held.headers["Location"].startswith("/account/two-factor")
    api = await web.client.get("/api/v1/messages")
    assert api.status == 403 and (await api.json())["error"]["code"] == "two_factor_required"
    await enrol(web)
    assert (await web.client.get("/outbox", allow_redirects=False)).status == 200
    page = await web.client.get("/account/two-factor")
    assert 'value="disable"' not in await page.text(), "admins cannot turn it off"
    assert "settings.require_admin_two_factor" in await actions_all(web)


async def actions_all(web: WebEnv) -> list[str]:
    async with web.db.read() as conn:
        return [row.action for row in await conn.execute(select(audit_log.c.action))]


async def test_webui_reset_2fa_turns_it_off_and_ends_sessions(web: WebEnv) -> None:
    await login(web.client, "operator")
    await enrol(web)
    env = {
        **os.environ,
        "SMSGW_DATABASE_URL": web.settings.database.url,
        "SMSGW_SECRET_KEY": "unused-here-0123456789abcdefghijklmnop",
    }
    env.pop("SMSGW_REDIS_URL", None)
    process = await asyncio.create_subprocess_exec(
        WEBUI,
        "reset-2fa",
        "OPERATOR",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "turned off" in out.decode()
    assert (await web.client.get("/api/v1/me")).status == 401, "the session ended"
    async with web.db.read() as conn:
        row = (await conn.execute(select(users).where(users.c.username == "operator"))).one()
    assert row.totp_secret is None and row.totp_enabled_at is None
    assert "user.two_factor.reset" in await actions(web, "operator")
    assert (await login(web.client, "operator", PASSWORD)).headers["Location"] == "/"
