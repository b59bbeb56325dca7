"""Request middlewares, outermost first: timing and error shaping, then authentication,
roles and CSRF. Security headers are added to every response in ``on_response_prepare``
(:func:`add_security_headers`): ``Cache-Control: no-store`` on everything but static files, and
no ``Server`` banner.

- :func:`timing_and_errors` logs ``"Slow request"`` past ``slow_request_ms`` (never for a live
  stream or a streamed CSV export, which last as long as their client wants), feeds the request
  statistics, turns :class:`~webui.errors.ApiError`, the services' errors
  (:mod:`webui.services.errors`), HTTP errors on API paths and a lost
  database into JSON errors, and logs anything unexpected instead of leaking a traceback.
- :func:`authentication` finds who is asking (``Authorization: Bearer`` key, else the session
  cookie), enforces the handler's declared role, and checks the CSRF token of every unsafe
  request that is not authenticated by an API key (on public handlers: every one, unless the
  handler checks credentials carried by the request itself, see
  :func:`~webui.auth.identity.own_credentials`).
"""

from __future__ import annotations

import time
from urllib.parse import quote

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler
from aiohttp.web_urldispatcher import StaticResource
from aiohttp_session import get_session

from gatewayd.store import DatabaseUnavailable
from webui.auth.apikeys import hash_key, identify_key
from webui.auth.clientaddr import client_address, in_networks, is_https
from webui.auth.identity import Identity, has_own_credentials, is_public, required_role
from webui.auth.passwords import PasswordWorkBusy
from webui.auth.sessions import CSRF_FIELD, CSRF_HEADER, csrf_matches, session_identity
from webui.errors import (
    HTTP_ERROR_CODES,
    ApiError,
    api_error,
    error_response,
    retry_after_header,
)
from webui.keys import ACCOUNT, ACCOUNTS, CLIENT_ADDRESS, DB, IDENTITY, KEY_CACHE, OPTIONS, STATS
from webui.services.errors import ServiceError

log = structlog.get_logger("webui.http")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
METRICS_ATTRIBUTE = "smsgw_metrics_allow_list"
API_PREFIXES = ("/api/", "/metrics", "/cgi-bin/")
LONG_LIVED_TYPES = frozenset({"text/event-stream", "text/csv"})
"""Answers that last as long as the client wants them (a live stream, a streamed export):
their duration is not a slow request."""


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def metrics_endpoint(handler: Handler) -> Handler:
    """Mark a handler as open without login to addresses in ``metrics_allow``."""
    setattr(handler, METRICS_ATTRIBUTE, True)
    return handler


def route_name(request: web.Request) -> str:
    """A bounded label for metrics: the route's pattern, not the concrete path."""
    info = request.match_info
    if info.http_exception is not None:
        return "unmatched"
    resource = info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def timing_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    long_lived = False
    try:
        response = await _shaped(request, handler)
        status = response.status
        long_lived = response.content_type in LONG_LIVED_TYPES
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        seconds = time.perf_counter() - started
        options = request.app[OPTIONS]
        request.app[STATS].record(request.method, route_name(request), status, seconds)
        duration_ms = round(seconds * 1000, 1)
        if duration_ms > options.slow_request_ms and not long_lived:
            log.warning(
                "Slow request",
                method=request.method,
                path=request.path,
                status=status,
                duration_ms=duration_ms,
                client=request.get(CLIENT_ADDRESS, request.remote),
                user=identity.actor if (identity := request.get(IDENTITY)) else None,
            )


async def _shaped(request: web.Request, handler: Handler) -> web.StreamResponse:
    api = is_api_path(request.path)
    if _has_nul(request):  # no text column can store it: refused before any query sees it
        message = "the request contains a NUL character"
        if request.path.startswith("/cgi-bin/"):  # Kannel's interface answers in plain text
            return web.Response(status=400, text=message, content_type="text/plain")
        if api:
            return error_response(400, "bad_request", message)
        return web.Response(status=400, text=f"Bad request: {message}.\n")
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.status)
    except ServiceError as exc:
        refusal = api_error(exc)
        return web.json_response(
            refusal.body(), status=refusal.status, headers=retry_after_header(exc)
        )
    except web.HTTPException as exc:
        if api and exc.status >= 400:
            code = HTTP_ERROR_CODES.get(exc.status, "http_error")
            headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
            return error_response(exc.status, code, exc.reason, headers=headers)
        raise
    except HttpProcessingError as exc:
        # A body aiohttp cannot parse (bad multipart headers, broken chunking...).
        message = f"malformed request body: {exc.message}".splitlines()[0][:200]
        if api:
            return error_response(400, "bad_request", message)
        return web.Response(status=400, text="Bad request: malformed body.\n")
    except PasswordWorkBusy:
        log.warning("Password check refused: busy", path=request.path)
        message = "too many password checks at once; try again in a moment"
        if api:
            return error_response(503, "busy", message, headers={"Retry-After": "2"})
        return web.Response(
            status=503, text=f"Service unavailable: {message}.\n", headers={"Retry-After": "2"}
        )
    except DatabaseUnavailable as exc:
        log.error("Database unavailable", path=request.path, reason=str(exc))
        if api:
            return error_response(
                503, "database_unavailable", "the database is unavailable; try again shortly"
            )
        return web.Response(status=503, text="Service unavailable: the database is down.\n")
    except Exception:
        log.exception("Unhandled error", method=request.method, path=request.path)
        if api:
            return error_response(500, "internal_error", "internal error; see the server log")
        return web.Response(status=500, text="Internal error.\n")


def _has_nul(request: web.Request) -> bool:
    return "\x00" in request.path or any(
        "\x00" in key or "\x00" in value for key, value in request.query.items()
    )


def _is_static_file(request: web.Request) -> bool:
    info = request.match_info
    return info.http_exception is None and isinstance(info.route.resource, StaticResource)


def _open_handler(request: web.Request) -> bool:
    info = request.match_info
    if info.http_exception is not None:
        return True  # 404/405 need no login
    if isinstance(info.route.resource, StaticResource):
        return True
    return is_public(info.handler)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or ""


async def _identify(request: web.Request, bearer: str | None) -> Identity | None:
    db = request.app[DB]
    if bearer is not None:
        if not bearer:
            return None
        cache = request.app[KEY_CACHE]
        digest = hash_key(bearer)
        cached = cache.get(digest)
        if cached is not None:
            return cached
        async with db.begin() as conn:
            identity = await identify_key(conn, bearer)
        if identity is not None:
            cache.put(digest, identity)
        return identity
    session = await get_session(request)
    if session.new or "uid" not in session:
        return None
    async with db.read() as conn:
        identity = await session_identity(conn, session)
    if identity is None:
        session.invalidate()
    return identity


def _unauthenticated(request: web.Request, bearer: str | None) -> web.StreamResponse:
    if is_api_path(request.path):
        message = (
            "the API key is unknown or revoked"
            if bearer is not None
            else "log in or send Authorization: Bearer <api key>"
        )
        return error_response(
            401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="smsgw"'}
        )
    target = request.path_qs if request.method == "GET" else "/"
    raise web.HTTPFound(f"/login?next={quote(target, safe='')}")


async def _csrf_ok(request: web.Request) -> bool:
    session = await get_session(request)
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        try:
            form = await request.post()
        except (ValueError, AssertionError, KeyError, HttpProcessingError):
            return False
        value = form.get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    return csrf_matches(session, supplied)


@web.middleware
async def authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    options = request.app[OPTIONS]
    request[CLIENT_ADDRESS] = client_address(request, options.trusted_proxies)
    if _open_handler(request):
        request[IDENTITY] = None
        if request.match_info.http_exception is not None and not is_api_path(request.path):
            # No such page: whoever is signed in still gets the page frame around the error.
            request[IDENTITY] = await _identify(request, _bearer(request))
        if (
            request.method in UNSAFE_METHODS
            and not request.match_info.http_exception
            and not has_own_credentials(request.match_info.handler)
            and not await _csrf_ok(request)
        ):
            return _csrf_refused(request)
        return await handler(request)
    bearer = _bearer(request)
    identity = await _identify(request, bearer)
    request[IDENTITY] = identity
    request[ACCOUNT] = None
    if identity is not None and identity.account_id is not None:
        account = await request.app[ACCOUNTS].current(identity.account_id)
        if account is None or account.revoked:
            identity = request[IDENTITY] = None
        elif not account.allows_address(request[CLIENT_ADDRESS]):
            return _network_refused(request, identity)
        request[ACCOUNT] = account
    if identity is None:
        route_handler = request.match_info.handler
        if getattr(route_handler, METRICS_ATTRIBUTE, False) and in_networks(
            request[CLIENT_ADDRESS], options.metrics_allow
        ):
            return await handler(request)
        return _unauthenticated(request, bearer)
    role = required_role(request.match_info.handler)
    if not identity.has_role(role):
        message = f"this needs the {role.value} role or higher"
        if is_api_path(request.path):
            return error_response(403, "forbidden", message)
        return web.Response(status=403, text=f"Forbidden: {message}.\n")
    if request.method in UNSAFE_METHODS and bearer is None and not await _csrf_ok(request):
        return _csrf_refused(request)
    return await handler(request)


def _network_refused(request: web.Request, identity: Identity) -> web.StreamResponse:
    address = request[CLIENT_ADDRESS]
    log.warning("API key refused: network", key=identity.name, client_address=address)
    message = f"this API key's account may not be used from {address}"
    if is_api_path(request.path):
        return error_response(403, "network_not_allowed", message)
    return web.Response(status=403, text=f"Forbidden: {message}.\n")


def _csrf_refused(request: web.Request) -> web.StreamResponse:
    log.warning("CSRF token missing or wrong", path=request.path, client=request[CLIENT_ADDRESS])
    if is_api_path(request.path):
        return error_response(403, "csrf_failed", "missing or wrong CSRF token")
    return web.Response(status=403, text="Forbidden: missing or wrong CSRF token.\n")


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: headers on every response, static files and errors included."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.popall("Server", None)
    if not _is_static_file(request):
        # Pages show API keys and generated passwords once: no browser or proxy may keep them.
        headers.setdefault("Cache-Control", "no-store")
    if is_https(request, request.app[OPTIONS].trusted_proxies):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
