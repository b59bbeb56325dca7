"""The password gate: a user whose ``must_change_password`` is set (the first admin of
``gatewayd run --web``, a user created or reset with a generated password) reaches nothing but
the password form until they choose their own.

Pages redirect to :data:`ACCOUNT_PATH` (carrying the page asked for as ``next``); API calls made
with the session cookie answer ``403 password_change_required``. API keys have no password and
pass untouched, as do static files, ``/logout``, ``/login`` and the language menu.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from webui.api.errors import error_response
from webui.keys import IDENTITY

ACCOUNT_PATH = "/account"
OPEN_PATHS = frozenset({
    ACCOUNT_PATH,
    "/logout",
    "/login",
    "/settings/language",
    "/api/v1/me",
    "/api/v1/me/password",
})
OPEN_PREFIXES = ("/static/",)
API_PREFIXES = ("/api/", "/metrics", "/cgi-bin/")


def gate_target(request: web.Request) -> str:
    """Where a blocked page request goes: the password form, then back to the page."""
    if request.method != "GET" or request.path in ("/", ""):
        return ACCOUNT_PATH
    return f"{ACCOUNT_PATH}?next={quote(request.path_qs, safe='')}"


@web.middleware
async def password_change_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    identity = request.get(IDENTITY)
    if (
        identity is None
        or identity.kind != "user"
        or not identity.must_change_password
        or request.path in OPEN_PATHS
        or request.path.startswith(OPEN_PREFIXES)
    ):
        return await handler(request)
    if request.path.startswith(API_PREFIXES):
        return error_response(
            403,
            "password_change_required",
            "choose a new password first: POST /api/v1/me/password",
        )
    raise web.HTTPSeeOther(gate_target(request))
