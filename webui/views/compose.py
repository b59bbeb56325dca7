"""The compose page: recipients (numbers, contacts, groups), a template, the text with its live
counter, scheduling, and queueing through the same validation as the API."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from multidict import MultiDict
from sqlalchemy import select

from gatewayd.numbers import InvalidNumber, normalise
from gatewayd.queue import NewMessage
from gatewayd.store import Role, contact_group_members, contacts, modems
from webui.auth.identity import requires
from webui.errors import ApiError
from webui.i18n import ngettext
from webui.keys import DB, SETTINGS
from webui.redirects import safe_next
from webui.services.sending import OFFLOAD_ABOVE, queue_prepared, validate
from webui.views.addressbook import address_book
from webui.views.common import field, identity_of, notify, read_form, render, row_ids
from webui.views.errors import translated_error

MAX_RECIPIENTS = 5000
NUMBER_SEPARATORS = re.compile(r"[\s,;]+")


def split_numbers(text: str) -> list[str]:
    return [item for item in NUMBER_SEPARATORS.split(text) if item]


def parse_send_at(local: str, offset_minutes: str) -> datetime | None:
    """``datetime-local`` text plus the browser's ``getTimezoneOffset()`` as an aware time."""
    if not local:
        return None
    try:
        naive = datetime.fromisoformat(local)
    except ValueError:
        raise ApiError(
            422, "invalid_send_at", "send_at is not a date and time", "send_at"
        ) from None
    try:
        offset = int(offset_minutes or "0")
    except ValueError:
        offset = 0
    if not -14 * 60 <= offset <= 14 * 60:
        offset = 0
    try:
        return (naive + timedelta(minutes=offset)).replace(tzinfo=UTC)
    except OverflowError:
        raise ApiError(
            422, "invalid_send_at", "send_at is outside the years 1 to 9999", "send_at"
        ) from None


async def expand_recipients(request: web.Request, form: MultiDict[str]) -> list[str]:
    """Typed numbers, then chosen contacts, then members of chosen groups; each once."""
    wanted = split_numbers(field(form, "to", 200_000))
    contact_ids = row_ids(form.getall("contact", []))
    group_ids = row_ids(form.getall("group", []))
    async with request.app[DB].read() as conn:
        if contact_ids:
            rows = await conn.execute(
                select(contacts.c.number).where(contacts.c.id.in_(contact_ids))
            )
            wanted.extend(row.number for row in rows)
        if group_ids:
            rows = await conn.execute(
                select(contacts.c.number)
                .join(contact_group_members, contact_group_members.c.contact_id == contacts.c.id)
                .where(contact_group_members.c.group_id.in_(group_ids))
                .order_by(contacts.c.name)
            )
            wanted.extend(row.number for row in rows)
    region = request.app[SETTINGS].gateway.default_region
    if len(wanted) > OFFLOAD_ABOVE:
        return await asyncio.to_thread(unique_numbers, wanted, region)
    return unique_numbers(wanted, region)


def unique_numbers(numbers: list[str], region: str | None) -> list[str]:
    """``numbers`` in order, each number once however it was written (``+55 11…``, ``11…``);
    one that is not a valid number is kept as typed, for validation to report."""
    seen: set[str] = set()
    unique = []
    for number in numbers:
        try:
            key = normalise(number, region)
        except InvalidNumber:
            key = number
        if key not in seen:
            seen.add(key)
            unique.append(number)
    return unique


async def _modem_names(request: web.Request) -> list[str]:
    async with request.app[DB].read() as conn:
        return [row.name for row in await conn.execute(select(modems.c.name).order_by("name"))]


async def _page(
    request: web.Request,
    form: MultiDict[str] | None = None,
    error: str | None = None,
    problems: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> web.Response:
    async with request.app[DB].read() as conn:
        book = await address_book(conn)
    values = form or MultiDict(request.query)
    context = {
        "form": values,
        "chosen_contacts": set(values.getall("contact", [])),
        "chosen_groups": set(values.getall("group", [])),
        "book": book,
        "modems": await _modem_names(request),
        "error": error,
        "problems": problems or [],
    }
    return await render(request, "compose.html", context, page="compose", status=status)


@requires(Role.OPERATOR)
async def compose_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@requires(Role.OPERATOR)
async def compose_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    identity = identity_of(request)
    try:
        recipients = await expand_recipients(request, form)
        if not recipients:
            raise ApiError(422, "no_recipients", "no recipients", "to")
        if len(recipients) > MAX_RECIPIENTS:
            raise ApiError(422, "too_many_recipients", "too many recipients", "to")
        template = NewMessage(
            to="",
            text=str(form.get("text", ""))[:40_000].replace("\r\n", "\n"),
            send_at=parse_send_at(field(form, "send_at", 40), field(form, "tz_offset", 8)),
            flash=form.get("flash") == "on",
            status_report=form.get("status_report", "on") == "on",
            modem=field(form, "modem", 32) or None,
        )
        prepared = await validate(request, template, recipients, skip_invalid=False)
        ids, _created = await queue_prepared(request, identity, prepared, key=None)
    except ApiError as exc:
        problems = exc.extra.get("problems")
        return await _page(
            request, form, translated_error(exc.code, exc.message), problems, status=422
        )
    count = len(ids)
    await notify(
        request, ngettext("%(n)d message queued.", "%(n)d messages queued.", count) % {"n": count}
    )
    target = safe_next(form.get("next"), default="")
    if target.startswith("/inbox/"):
        raise web.HTTPSeeOther(target)
    if count == 1:
        raise web.HTTPSeeOther(f"/outbox/{ids[0]}")
    raise web.HTTPSeeOther(f"/outbox?batch={ids[0]}")
