"""What every page handler shares: rendering with the page frame's context, one-shot notices,
form reading, and the identity of the signed-in user."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp_session import get_session
from multidict import MultiDict, MultiDictProxy

from gatewayd.store import Role
from webui.alerts.service import active_alerts
from webui.auth.identity import Identity
from webui.auth.sessions import CSRF_FIELD, csrf_token
from webui.i18n import LOCALE_KEY, html_lang
from webui.i18n import gettext as _
from webui.keys import CLIENT_ADDRESS, DB, IDENTITY
from webui.services.listing import unread_count

NOTICE_KEY = "notice"


def identity_of(request: web.Request) -> Identity:
    """The signed-in identity; pages are never served anonymously (the middleware saw to it)."""
    identity: Identity | None = request.get(IDENTITY)
    if identity is None:
        raise web.HTTPFound("/login")
    return identity


def client_address(request: web.Request) -> str | None:
    return request.get(CLIENT_ADDRESS)


async def notify(request: web.Request, text: str, kind: str = "ok") -> None:
    """A message for the next page this browser shows (after a redirect)."""
    session = await get_session(request)
    session[NOTICE_KEY] = {"text": text, "kind": kind}


async def _take_notice(request: web.Request) -> dict[str, str] | None:
    session = await get_session(request)
    notice = session.pop(NOTICE_KEY, None)
    return notice if isinstance(notice, dict) else None


async def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    page: str = "",
    status: int = 200,
) -> web.Response:
    """Render ``template`` inside the frame: navigation (with the inbox's unread count), the
    banner of active alerts, user, CSRF token, locale, notice."""
    identity = request.get(IDENTITY)
    unread = 0
    alerts: list[dict[str, Any]] = []
    if identity is not None:
        async with request.app[DB].read() as conn:
            unread = await unread_count(conn)
            alerts = await active_alerts(conn)
    frame: dict[str, Any] = {
        "page": page,
        "me": identity,
        "can_send": identity is not None and identity.has_role(Role.OPERATOR),
        "is_admin": identity is not None and identity.has_role(Role.ADMIN),
        "csrf_field": CSRF_FIELD,
        "csrf_token": await csrf_token(request),
        "lang": html_lang(request.get(LOCALE_KEY, "en")),
        "notice": await _take_notice(request),
        "path_qs": request.path_qs,
        "unread": unread,
        "alerts": alerts,
    }
    frame.update(context or {})
    return aiohttp_jinja2.render_template(template, request, frame, status=status)


async def posted_form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted body (urlencoded or multipart); one that cannot be read (broken multipart,
    text fields that are not UTF-8) is a 400, never a crash."""
    try:
        return await request.post()
    except (ValueError, AssertionError, KeyError, HttpProcessingError):
        raise web.HTTPBadRequest(text=_("The form could not be read.")) from None


async def read_form(request: web.Request) -> MultiDict[str]:
    """The posted form with file fields dropped: pages post plain fields only."""
    posted = await posted_form(request)
    form = MultiDict((key, value) for key, value in posted.items() if isinstance(value, str))
    if any("\x00" in key or "\x00" in value for key, value in form.items()):
        # No database stores U+0000 in text, and no form needs it.
        raise web.HTTPBadRequest(text=_("The form holds a NUL character."))
    return form


def field(form: Mapping[str, str], name: str, limit: int = 2000) -> str:
    return str(form.get(name, "")).strip()[:limit]


def int_or_none(value: str | None) -> int | None:
    text = (value or "").strip()
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        return None  # "²".isdigit() holds and int("²") raises; very long texts cost int()
    number = int(text)
    return number if -(2**63) <= number < 2**63 else None  # ids are BIGINT


def row_ids(values: list[str]) -> list[int]:
    """The values that can be row ids (1 … 2**63 - 1, ASCII digits); others are dropped."""
    return [number for value in values if (number := int_or_none(value)) is not None and number > 0]


def path_id(request: web.Request, name: str = "id") -> int:
    """The row id in the path; 404 when no row can have it (ids are BIGINT)."""
    number = int_or_none(request.match_info[name])
    if number is None or number < 1:
        raise web.HTTPNotFound(text=_("Not found."))
    return number


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


MAX_TZ_MINUTES = 14 * 60


def local_midnight(text: str, tz_minutes: int) -> datetime | None:
    """The start of day ``text`` (``YYYY-MM-DD``) in the browser's time zone
    (``getTimezoneOffset()`` minutes); None when it is not a date."""
    try:
        day = date.fromisoformat(text.strip()[:10])
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=tz_minutes)
    except (ValueError, OverflowError):
        return None


def date_range(query: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    """``from`` and ``until`` (days, both included) of a page's filter as a time range: from the
    first day's midnight to the midnight after the last day, in the browser's zone (``tz``)."""
    offset = int_or_none(str(query.get("tz", ""))) or 0
    if not -MAX_TZ_MINUTES <= offset <= MAX_TZ_MINUTES:
        offset = 0
    since = local_midnight(str(query.get("from", "")), offset)
    last = local_midnight(str(query.get("until", "")), offset)
    try:
        until = last + timedelta(days=1) if last is not None else None
    except OverflowError:
        until = None
    return since, until
