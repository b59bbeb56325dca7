"""The password and two-factor gates: a user whose ``must_change_password`` is set (the first
admin of ``gatewayd run --web``, a user created or reset with a generated password) reaches
nothing but the password form until they choose their own; then an admin who must have
two-factor sign-in (``require_admin_two_factor``) and has none reaches nothing but the
enrolment form (:data:`TWO_FACTOR_PATH`).

Pages redirect to the form (carrying the page asked for as ``next``); API calls made with the
session cookie answer ``403 password_change_required`` / ``403 two_factor_required``. API keys
have no password and pass untouched, as do static files, ``/logout``, ``/login`` and the
language menu.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from webui.errors import error_response
from webui.keys import IDENTITY

ACCOUNT_PATH = "/account"
TWO_FACTOR_PATH = "/account/two-factor"
OPEN_PATHS = frozenset(
    {
        ACCOUNT_PATH,
        TWO_FACTOR_PATH,
        "/logout",
        "/login",
        "/settings/language",
        "/api/v1/me",
        "/api/v1/me/password",
    }
)
OPEN_PREFIXES = ("/static/",)
API_PREFIXES = ("/api/", "/metrics", "/cgi-bin/")


def gate_target(request: web.Request, form: str = ACCOUNT_PATH) -> str:
    """Where a blocked page request goes: the form, then back to the page."""
    if request.method != "GET" or request.path in ("/", ""):
        return form
    return f"{form}?next={quote(request.path_qs, safe='')}"


@web.middleware
async def password_change_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    identity = request.get(IDENTITY)
    if (
        identity is None
        or identity.kind != "user"
        or not (identity.must_change_password or identity.must_enrol_two_factor)
        or (
            request.path in OPEN_PATHS
            and not (identity.must_change_password and request.path == TWO_FACTOR_PATH)
        )
        or request.path.startswith(OPEN_PREFIXES)
    ):
        return await handler(request)
    api = request.path.startswith(API_PREFIXES)
    if identity.must_change_password:
        if api:
            return error_response(
                403,
                "password_change_required",
                "choose a new password first: POST /api/v1/me/password",
            )
        raise web.HTTPSeeOther(gate_target(request))
    if api:
        return error_response(
            403, "two_factor_required", f"set up two-factor sign-in first: {TWO_FACTOR_PATH}"
        )
    raise web.HTTPSeeOther(gate_target(request, TWO_FACTOR_PATH))
