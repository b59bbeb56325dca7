"""``/login`` and ``/logout``: the form, throttling, lockout, session rotation and the
``"Failed login"`` log line (with ``username`` and ``client_address``) for each refusal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp_jinja2
import structlog
from aiohttp import web

from webui.audit import record
from webui.auth.identity import public
from webui.auth.sessions import csrf_token, end_session, start_session
from webui.auth.users import check_login
from webui.keys import CLIENT_ADDRESS, DB, IDENTITY, OPTIONS, THROTTLE
from webui.redirects import safe_next

log = structlog.get_logger("webui.auth")

GENERIC_REFUSAL = "Wrong user name or password."
LOCKED_REFUSAL = "Too many failed attempts. Try again later."


async def render_login(
    request: web.Request, *, error: str | None = None, status: int = 200, username: str = ""
) -> web.Response:
    context: dict[str, Any] = {
        "csrf_token": await csrf_token(request),
        "error": error,
        "next": safe_next(request.query.get("next")),
        "username": username,
    }
    response = aiohttp_jinja2.render_template("login.html", request, context, status=status)
    return response


@public
async def login_page(request: web.Request) -> web.StreamResponse:
    return await render_login(request)


@public
async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")) or request.query.get("next"))
    address = request[CLIENT_ADDRESS]
    options = request.app[OPTIONS]
    throttle = request.app[THROTTLE]
    if throttle.blocked(address):
        log.warning("Failed login", username=username, client_address=address,
                    reason="address throttled")
        return await render_login(request, error=LOCKED_REFUSAL, status=429, username=username)
    if not username or not password:
        return await render_login(request, error=GENERIC_REFUSAL, status=400, username=username)
    async with request.app[DB].begin() as conn:
        result = await check_login(
            conn,
            username,
            password,
            lockout_threshold=options.lockout_threshold,
            lockout=timedelta(minutes=options.lockout_minutes),
        )
        detail = {"outcome": result.outcome}
        await record(conn, f"user:{username}", "login" if result.outcome == "ok" else
                     "login.failed", username, detail, address)
    if result.outcome != "ok":
        throttle.record_failure(address)
        log.warning(
            "Failed login",
            username=username,
            client_address=address,
            reason=result.outcome,
            locked_until=result.locked_until.isoformat() if result.locked_until else None,
        )
        locked = result.outcome == "locked"
        return await render_login(
            request,
            error=LOCKED_REFUSAL if locked else GENERIC_REFUSAL,
            status=429 if locked else 401,
            username=username,
        )
    throttle.record_success(address)
    await start_session(request, result.user)
    log.info("Logged in", username=username, client_address=address)
    raise web.HTTPSeeOther(target)


async def logout(request: web.Request) -> web.StreamResponse:
    identity = request[IDENTITY]
    if identity is not None:
        async with request.app[DB].begin() as conn:
            await record(conn, identity.actor, "logout", identity.name, None,
                         request[CLIENT_ADDRESS])
    await end_session(request)
    raise web.HTTPSeeOther("/login")


def register(app: web.Application) -> None:
    app.router.add_get("/login", login_page, name="login")
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout, name="logout")
