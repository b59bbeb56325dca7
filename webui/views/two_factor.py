"""``/account/two-factor``: a user's own two-factor sign-in (:mod:`webui.auth.two_factor`).

Off: the page shows a new secret (QR code, ``otpauth://`` URI and the secret itself; kept in the
cookie session until confirmed) and asks for one code from the app; the right code turns it on
and shows ten recovery codes once. On: new recovery codes or turning it off, each after the
current password (throttled and audited like a sign-in). An admin whom
``require_admin_two_factor`` holds here cannot turn it off. Wrong codes count for the throttle
like wrong passwords; everything is audited (``user.two_factor.*``).
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy import select

from gatewayd.store import Role, users
from webui.audit import record
from webui.auth import throttle, two_factor
from webui.auth.identity import Identity
from webui.i18n import gettext as _
from webui.keys import CLIENT_ADDRESS, DB, OPTIONS, OWN_PASSWORD, THROTTLE
from webui.redirects import safe_next
from webui.views.account import REFUSALS
from webui.views.common import field, identity_of, notify, read_form, render

log = structlog.get_logger("webui.auth")
SETUP_KEY = "totp_setup"
PATH = "/account/two-factor"


def _user_only(request: web.Request) -> Identity:
    identity = identity_of(request)
    if identity.kind != "user":
        raise web.HTTPForbidden(text=_("API keys have no account page."))
    return identity


async def _render(
    request: web.Request,
    *,
    error: str | None = None,
    status: int = 200,
    codes: list[str] | None = None,
) -> web.Response:
    identity = _user_only(request)
    async with request.app[DB].read() as conn:
        account = (await conn.execute(select(users).where(users.c.id == identity.id))).one()
        unused = await two_factor.unused_recovery_codes(conn, identity.id)
        required = identity.role == Role.ADMIN and await two_factor.admins_must_enrol(conn)
    context: dict[str, Any] = {
        "account": account,
        "enabled": account.totp_enabled_at is not None,
        "unused_codes": unused,
        "required": required,
        "codes": codes,
        "error": error,
        "next": safe_next(request.query.get("next")),
    }
    if account.totp_enabled_at is None and codes is None:
        session = await get_session(request)
        secret = session.get(SETUP_KEY)
        if not isinstance(secret, str):
            secret = two_factor.new_secret()
            session[SETUP_KEY] = secret
        uri = two_factor.provisioning_uri(secret, account.username)
        context.update(secret=secret, uri=uri, qr=two_factor.qr_code_data_uri(uri))
    response = await render(request, "two_factor.html", context, page="account", status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def two_factor_page(request: web.Request) -> web.StreamResponse:
    return await _render(request)


async def two_factor_submit(request: web.Request) -> web.StreamResponse:
    identity = _user_only(request)
    form = await read_form(request)
    action = field(form, "action", 16)
    if action == "enable":
        return await _enable(request, identity, field(form, "code", 64), field(form, "next", 500))
    if action not in ("disable", "new_codes"):
        raise web.HTTPBadRequest(text=_("Unknown action."))
    audit_action = f"user.two_factor.{action}"
    refused = await request.app[OWN_PASSWORD].confirm(
        identity, request[CLIENT_ADDRESS], str(form.get("password", "")), audit_action
    )
    if refused is not None:
        message, status = REFUSALS[refused]
        return await _render(request, error=_(message), status=status)
    address = request[CLIENT_ADDRESS]
    async with request.app[DB].begin() as conn:
        if action == "new_codes":
            codes = await two_factor.replace_recovery_codes(conn, identity.id)
        elif identity.role == Role.ADMIN and await two_factor.admins_must_enrol(conn):
            codes = None
        else:
            await two_factor.disable(conn, identity.id)
            codes = []
        if codes is not None:
            await record(conn, identity.actor, audit_action, identity.name, None, address)
    if codes is None:
        return await _render(
            request,
            status=409,
            error=_("Administrators must keep two-factor sign-in: it cannot be turned off."),
        )
    if action == "new_codes":
        return await _render(request, codes=codes)
    await notify(request, _("Two-factor sign-in is off."))
    raise web.HTTPSeeOther(PATH)


async def _enable(
    request: web.Request, identity: Identity, code: str, next_page: str
) -> web.StreamResponse:
    session = await get_session(request)
    secret = session.get(SETUP_KEY)
    if not isinstance(secret, str):
        raise web.HTTPSeeOther(PATH)
    app = request.app
    address = request[CLIENT_ADDRESS]
    async with app[DB].read() as conn:
        refused = await throttle.refusal(conn, app[THROTTLE], address, identity.name)
    step = None if refused else two_factor.matching_step(secret, code, None)
    async with app[DB].begin() as conn:
        if step is None:
            if refused is None:
                await throttle.record_failure(conn, app[THROTTLE], address, identity.name, "code")
            await record(
                conn,
                identity.actor,
                "user.two_factor.enable.failed",
                identity.name,
                {"reason": refused or "wrong_code"},
                address,
            )
            codes = None
        else:
            sealed = two_factor.seal(secret, app[OPTIONS].secret_key)
            codes = await two_factor.enable(conn, identity.id, sealed, step)
            await record(
                conn, identity.actor, "user.two_factor.enable", identity.name, None, address
            )
    if codes is None:
        log.warning(
            "Two-factor set-up refused",
            username=identity.name,
            client_address=address,
            reason=refused or "wrong_code",
        )
        if refused:
            return await _render(
                request, status=429, error=_("Too many failed attempts. Try again later.")
            )
        return await _render(
            request,
            status=422,
            error=_("That code is not right. Check the time on your phone and try the next code."),
        )
    session.pop(SETUP_KEY, None)
    log.info("Two-factor sign-in enabled", username=identity.name, client_address=address)
    response = await _render(request, codes=codes)
    return response


def register(router: web.UrlDispatcher) -> None:
    router.add_get(PATH, two_factor_page, name="two_factor")
    router.add_post(PATH, two_factor_submit)
