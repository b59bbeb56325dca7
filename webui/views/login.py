"""``/login``, ``/login/code`` and ``/logout``: the forms, throttling (:mod:`webui.auth.throttle`),
the second factor, session rotation and the ``"Failed login"`` log line (with ``username``,
``client_address`` and ``reason``) for each refusal.

After the right password, a user with two-factor sign-in is not signed in yet: the cookie
session holds the pending sign-in (user id, deadline, page to open) and ``/login/code`` asks
for a TOTP or recovery code, counted by the throttle like passwords.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp_jinja2
import structlog
from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy import select

from gatewayd.store import users, utc_now
from webui.audit import record
from webui.auth import throttle
from webui.auth.identity import public
from webui.auth.passwords import PasswordWorkBusy
from webui.auth.sessions import (
    csrf_token,
    end_session,
    end_user_sessions,
    fresh_session,
    start_session,
)
from webui.auth.two_factor import Factor, check_second_factor
from webui.auth.users import LoginResult, check_login, is_locked, mark_signed_in
from webui.keys import BUS, CLIENT_ADDRESS, DB, IDENTITY, OPTIONS, PASSWORD_WORK, THROTTLE
from webui.redirects import safe_next
from webui.revocations import announce_sessions_ended

log = structlog.get_logger("webui.auth")

GENERIC_REFUSAL = "Wrong user name or password."
LOCKED_REFUSAL = "Too many failed attempts. Try again later."
BUSY_REFUSAL = "The server is busy. Try again in a moment."
ACCOUNT_REFUSAL = "This account is locked or disabled. Ask an administrator."
WRONG_CODE = "Wrong code."
CODE_EXPIRED = "The sign-in took too long. Start again."
PENDING_KEY = "pending_sign_in"


async def render_login(
    request: web.Request,
    *,
    error: str | None = None,
    status: int = 200,
    username: str = "",
    template: str = "login.html",
) -> web.Response:
    context: dict[str, Any] = {
        "csrf_token": await csrf_token(request),
        "error": error,
        "next": safe_next(request.query.get("next")),
        "username": username,
    }
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    if status in (429, 503):
        response.headers["Retry-After"] = "60" if status == 429 else "2"
    return response


def log_refusal(username: str, address: str, reason: str, **extra: Any) -> None:
    log.warning("Failed login", username=username, client_address=address, reason=reason, **extra)


async def throttled(request: web.Request, username: str) -> str | None:
    """The throttle's refusal reason for this address and name, as the log says it."""
    async with request.app[DB].read() as conn:
        refused = await throttle.refusal(
            conn, request.app[THROTTLE], request[CLIENT_ADDRESS], username
        )
    return {"address": "address throttled", "pair": "throttled"}.get(refused or "")


async def record_failure(
    request: web.Request, username: str, kind: throttle.FailureKind, outcome: str
) -> None:
    address = request[CLIENT_ADDRESS]
    async with request.app[DB].begin() as conn:
        await throttle.record_failure(conn, request.app[THROTTLE], address, username, kind)
        await record(conn, "anonymous", "login.failed", username, {"outcome": outcome}, address)


async def sign_in(
    request: web.Request, user: Any, target: str, typed: str, factor: Factor | None = None
) -> web.StreamResponse:
    """The last step of every successful sign-in: a new session, audited."""
    address = request[CLIENT_ADDRESS]
    async with request.app[DB].begin() as conn:
        await throttle.forget_pair(conn, address, typed)
        await start_session(request, conn, user, request.app[OPTIONS].session_max_age)
        await mark_signed_in(conn, user.id)
        detail = {"outcome": "ok", **({"second_factor": factor} if factor else {})}
        await record(conn, f"user:{user.username}", "login", user.username, detail, address)
    log.info("Logged in", username=user.username, client_address=address, second_factor=factor)
    raise web.HTTPSeeOther(target)


@public
async def login_page(request: web.Request) -> web.StreamResponse:
    return await render_login(request)


@public
async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    # No stored name holds a NUL (PostgreSQL text cannot): such a name is counted, audited
    # and refused like any other unknown one, with a visible stand-in for the character.
    username = str(form.get("username", "")).strip()[:64].replace("\x00", "\ufffd")
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")) or request.query.get("next"))
    address = request[CLIENT_ADDRESS]
    if not username or not password:
        return await render_login(request, error=GENERIC_REFUSAL, status=400, username=username)
    reason = await throttled(request, username)
    if reason is not None:
        log_refusal(username, address, reason)
        return await render_login(request, error=LOCKED_REFUSAL, status=429, username=username)
    try:
        result = await check_login(
            request.app[DB], username, password, work=request.app[PASSWORD_WORK]
        )
    except PasswordWorkBusy:
        log.warning("Sign-in refused: busy", username=username, client_address=address)
        return await render_login(request, error=BUSY_REFUSAL, status=503, username=username)
    if result.outcome in ("unknown_user", "wrong_password"):
        await record_failure(request, username, "password", result.outcome)
        log_refusal(username, address, result.outcome)
        return await render_login(request, error=GENERIC_REFUSAL, status=401, username=username)
    if result.outcome != "ok":
        await _refuse_account(request, username, result)
        return await render_login(request, error=ACCOUNT_REFUSAL, status=403, username=username)
    user = result.user
    if user.totp_enabled_at is not None:
        session = await fresh_session(request)
        deadline = int(time.time()) + request.app[OPTIONS].two_factor_pending_seconds
        session[PENDING_KEY] = {
            "uid": user.id,
            "until": deadline,
            "next": target,
            "typed": username,
        }
        raise web.HTTPSeeOther("/login/code")
    return await sign_in(request, user, target, username)


async def _refuse_account(request: web.Request, username: str, result: LoginResult) -> None:
    """The right password for a locked or disabled account: said, audited, not counted."""
    address = request[CLIENT_ADDRESS]
    async with request.app[DB].begin() as conn:
        await record(
            conn, "anonymous", "login.failed", username, {"outcome": result.outcome}, address
        )
    log_refusal(
        username,
        address,
        result.outcome,
        locked_until=result.locked_until.isoformat() if result.locked_until else None,
    )


async def _pending(request: web.Request) -> dict[str, Any] | None:
    session = await get_session(request)
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or not isinstance(pending.get("uid"), int):
        return None
    if int(pending.get("until", 0)) < time.time():
        session.pop(PENDING_KEY, None)
        return None
    return pending


@public
async def code_page(request: web.Request) -> web.StreamResponse:
    if await _pending(request) is None:
        raise web.HTTPSeeOther("/login")
    return await render_login(request, template="login_code.html")


@public
async def code_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    code = str(form.get("code", ""))[:64]
    pending = await _pending(request)
    if pending is None:
        return await render_login(request, error=CODE_EXPIRED, status=400)
    typed = str(pending.get("typed", ""))
    address = request[CLIENT_ADDRESS]
    reason = await throttled(request, typed)
    if reason is not None:
        log_refusal(typed, address, reason)
        return await render_login(
            request, error=LOCKED_REFUSAL, status=429, template="login_code.html"
        )
    async with request.app[DB].begin() as conn:
        user = (await conn.execute(select(users).where(users.c.id == pending["uid"]))).first()
        usable = (
            user is not None
            and user.disabled_at is None
            and user.totp_enabled_at is not None
            and not is_locked(user, utc_now())
        )
        factor = (
            await check_second_factor(conn, user, code, request.app[OPTIONS].secret_key)
            if usable
            else None
        )
    if user is None or not usable:
        return await render_login(request, error=CODE_EXPIRED, status=400)
    if factor is None:
        await record_failure(request, typed, "code", "wrong_code")
        log_refusal(typed, address, "wrong_code")
        return await render_login(request, error=WRONG_CODE, status=401, template="login_code.html")
    return await sign_in(request, user, safe_next(str(pending.get("next", ""))), typed, factor)


async def logout(request: web.Request) -> web.StreamResponse:
    identity = request[IDENTITY]
    async with request.app[DB].begin() as conn:
        if identity is not None:
            await record(
                conn, identity.actor, "logout", identity.name, None, request[CLIENT_ADDRESS]
            )
        await end_session(request, conn)
        if identity is not None and identity.kind == "user":
            # Signing out signs the user out everywhere: every browser, every open stream.
            await end_user_sessions(conn, identity.id)
    if identity is not None and identity.kind == "user":
        await announce_sessions_ended(request.app[BUS], identity.id)
    raise web.HTTPSeeOther("/login")


def register(app: web.Application) -> None:
    app.router.add_get("/login", login_page, name="login")
    app.router.add_post("/login", login_submit)
    app.router.add_get("/login/code", code_page, name="login_code")
    app.router.add_post("/login/code", code_submit)
    app.router.add_post("/logout", logout, name="logout")
