"""``/account``: the signed-in user's own account: who they are (GET), and changing their
password (POST: current + new + confirmation). Users on an initial or reset password are sent
here by :mod:`webui.password_gate` until they choose their own.

A change (:mod:`webui.services.passwords`: throttled and audited like a sign-in) is written with
the audit entry in one transaction; this session stays signed in under a new session id while
every other session of the user ends, its open live streams included.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import users
from webui.auth.passwords import MIN_PASSWORD_LENGTH, WeakPassword, check_policy
from webui.auth.sessions import keep_session_after_password_change
from webui.i18n import N_
from webui.i18n import gettext as _
from webui.keys import BUS, CLIENT_ADDRESS, DB, OPTIONS, OWN_PASSWORD
from webui.redirects import safe_next
from webui.revocations import announce_sessions_ended
from webui.views.common import field, identity_of, notify, read_form, render

REFUSALS = {
    "throttled": (N_("Too many failed attempts. Try again later."), 429),
    "busy": (N_("The server is busy. Try again in a moment."), 503),
    "wrong_password": (N_("The current password is wrong."), 422),
    "weak_password": (N_("The new password is too weak."), 422),
}


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
        return _(
            "The new password needs at least %(count)d characters, without spaces at either end."
        ) % {"count": MIN_PASSWORD_LENGTH}
    return None


async def change_password(request: web.Request) -> web.StreamResponse:
    identity = identity_of(request)
    if identity.kind != "user":
        raise web.HTTPForbidden(text=_("API keys have no password."))
    form = await read_form(request)
    current = str(form.get("current_password", ""))
    new = str(form.get("new_password", ""))
    confirm = str(form.get("confirm_password", ""))
    next_page = field(form, "next", 500)
    problem = _policy_problem(new)
    if new != confirm:
        problem = _("The new password and its confirmation differ.")
    elif problem is None and new == current:
        problem = _("Choose a password different from the current one.")
    if problem is not None:
        # Checked before the current password, so a refusal says nothing about it.
        return await _render_account(request, error=problem, status=422, next_page=next_page)
    session = await get_session(request)

    async def keep(conn: AsyncConnection) -> None:
        max_age = request.app[OPTIONS].session_max_age
        await keep_session_after_password_change(conn, session, identity.id, max_age)

    result = await request.app[OWN_PASSWORD].change(
        identity, request[CLIENT_ADDRESS], current, new, keep=keep
    )
    if result.outcome == "changed":
        await announce_sessions_ended(request.app[BUS], identity.id)
    if result.outcome != "changed":
        message, status = REFUSALS[result.outcome]
        return await _render_account(request, error=_(message), status=status, next_page=next_page)
    await notify(
        request, _("Your password was changed. Sessions on other devices were signed out.")
    )
    target = safe_next(next_page) if identity.must_change_password else "/account"
    raise web.HTTPSeeOther(target)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/account", account_page, name="account")
    router.add_post("/account", change_password)
