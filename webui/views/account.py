"""``/account``: the signed-in user's own account: who they are (GET), and changing their
password (POST: current + new + confirmation). Users on an initial or reset password are sent
here by :mod:`webui.auth.password_gate` until they choose their own.

A change is written with the audit entry in one transaction; this session stays signed in
while every other session of the user ends (the session keeps a fingerprint of the hash).
"""

from __future__ import annotations

import structlog
from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy import select

from gatewayd.store import users
from webui.audit import record
from webui.auth.passwords import MIN_PASSWORD_LENGTH, WeakPassword, check_policy, verify_password
from webui.auth.sessions import keep_session_after_password_change
from webui.auth.users import set_password
from webui.i18n import gettext as _
from webui.keys import DB, THROTTLE
from webui.redirects import safe_next
from webui.views.common import client_address, identity_of, notify, read_form, render

log = structlog.get_logger("webui.auth")


async def _account_row(request: web.Request) -> object:
    identity = identity_of(request)
    async with request.app[DB].read() as conn:
        return (await conn.execute(select(users).where(users.c.id == identity.id))).one()


async def _render_account(
    request: web.Request,
    *,
    error: str | None = None,
    status: int = 200,
    next_page: str | None = None,
) -> web.Response:
    identity = identity_of(request)
    if identity.kind != "user":
        raise web.HTTPForbidden(text=_("API keys have no account page."))
    context = {
        "account": await _account_row(request),
        "forced": identity.must_change_password,
        "error": error,
        "next": safe_next(next_page or request.query.get("next")),
        "min_length": MIN_PASSWORD_LENGTH,
    }
    return await render(request, "account.html", context, page="account", status=status)


async def account_page(request: web.Request) -> web.StreamResponse:
    return await _render_account(request)


def _policy_problem(password: str) -> str | None:
    try:
        check_policy(password)
    except WeakPassword:
        return _("The new password needs at least %(count)d characters, without spaces at "
                 "either end.") % {"count": MIN_PASSWORD_LENGTH}
    return None


async def change_password(request: web.Request) -> web.StreamResponse:
    identity = identity_of(request)
    if identity.kind != "user":
        raise web.HTTPForbidden(text=_("API keys have no password."))
    form = await read_form(request)
    current = str(form.get("current_password", ""))
    new = str(form.get("new_password", ""))
    confirm = str(form.get("confirm_password", ""))
    address = client_address(request) or "unknown"
    throttle = request.app[THROTTLE]
    if throttle.blocked(address):
        return await _render_account(
            request, error=_("Too many failed attempts. Try again later."), status=429,
            next_page=str(form.get("next", "")),
        )
    problem = _policy_problem(new)
    if new != confirm:
        problem = _("The new password and its confirmation differ.")
    elif problem is None and new == current:
        problem = _("Choose a password different from the current one.")
    async with request.app[DB].begin() as conn:
        row = (await conn.execute(select(users).where(users.c.id == identity.id))).one()
        if not verify_password(row.password_hash, current):
            throttle.record_failure(address)
            log.warning("Password change refused", username=identity.name,
                        client_address=address, reason="wrong_password")
            await record(conn, identity.actor, "user.password.failed", identity.name,
                         {"reason": "wrong_password"}, address)
            problem = _("The current password is wrong.")
        if problem is None:
            await set_password(conn, identity.id, new)
            new_hash = (
                await conn.execute(select(users.c.password_hash).where(users.c.id == identity.id))
            ).scalar_one()
            await record(conn, identity.actor, "user.password", identity.name,
                         {"forced": identity.must_change_password}, address)
    if problem is not None:
        return await _render_account(request, error=problem, status=422,
                                     next_page=str(form.get("next", "")))
    keep_session_after_password_change(await get_session(request), new_hash)
    log.info("Password changed", username=identity.name, client_address=address)
    await notify(request, _("Your password was changed. Sessions on other devices were "
                            "signed out."))
    target = safe_next(str(form.get("next", ""))) if identity.must_change_password else "/account"
    raise web.HTTPSeeOther(target)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/account", account_page, name="account")
    router.add_post("/account", change_password)
