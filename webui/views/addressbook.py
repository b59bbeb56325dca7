"""The address book page: contacts, groups (and who is in them) and message templates, kept
by :mod:`webui.services.addressbook`; its refusals become the page's notices."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from gatewayd.store import Role
from webui.auth.identity import requires
from webui.i18n import gettext as _
from webui.keys import DB, SETTINGS
from webui.services import addressbook
from webui.services.caller import Caller
from webui.services.errors import ServiceError
from webui.views.common import (
    client_address,
    identity_of,
    int_or_none,
    notify,
    path_id,
    read_form,
    render,
    row_ids,
)
from webui.views.common import field as form_field


def _caller(request: web.Request) -> Caller:
    return Caller(identity_of(request).actor, client_address(request))


def _refusal(exc: ServiceError) -> str:
    """The page's words for a refusal of the address book."""
    if exc.code == "invalid_number":
        return _("A recipient number is not valid.")
    if exc.code == "missing_name" and exc.detail.get("what") == "group":
        return _("Give the group a name.")
    if exc.code == "missing_name":
        return _("Give the contact a name.")
    if exc.code == "incomplete_template":
        return _("A template needs a name and a text.")
    if exc.code == "already_exists":
        return _("That name or number is already in the address book.")
    return _("Not found.")


async def _done(request: web.Request, change: Awaitable[Any], saved: str) -> None:
    """Await ``change``; notify ``saved``, or the refusal as an error."""
    try:
        await change
    except ServiceError as exc:
        await notify(request, _refusal(exc), "error")
    else:
        await notify(request, saved)


async def contacts_page(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].read() as conn:
        book = await addressbook.address_book(conn)
    names = {person.id: person.name for person in book.contacts}
    return await render(request, "contacts.html", {"book": book, "names": names}, page="contacts")


@requires(Role.OPERATOR)
async def add_contact(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    change = addressbook.add_contact(
        request.app[DB],
        _caller(request),
        form_field(form, "name", 100),
        form_field(form, "number", 40),
        request.app[SETTINGS].gateway.default_region,
    )
    await _done(request, change, _("Contact saved."))
    raise web.HTTPSeeOther("/contacts")


@requires(Role.OPERATOR)
async def delete_contact(request: web.Request) -> web.StreamResponse:
    change = addressbook.delete_contact(request.app[DB], _caller(request), path_id(request))
    await _done(request, change, _("Contact deleted."))
    raise web.HTTPSeeOther("/contacts")


@requires(Role.OPERATOR)
async def save_group(request: web.Request) -> web.StreamResponse:
    """Create a group (no ``id``) or replace an existing group's members."""
    form = await read_form(request)
    given_id = form_field(form, "id", 40)
    group_id = int_or_none(given_id)
    if given_id and group_id is None:
        await notify(request, _("Not found."), "error")
        raise web.HTTPSeeOther("/contacts")
    change = addressbook.save_group(
        request.app[DB],
        _caller(request),
        group_id,
        form_field(form, "name", 100),
        row_ids(form.getall("member", [])),
    )
    await _done(request, change, _("Group saved."))
    raise web.HTTPSeeOther("/contacts")


@requires(Role.OPERATOR)
async def delete_group(request: web.Request) -> web.StreamResponse:
    change = addressbook.delete_group(request.app[DB], _caller(request), path_id(request))
    await _done(request, change, _("Group deleted."))
    raise web.HTTPSeeOther("/contacts")


@requires(Role.OPERATOR)
async def add_template(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    name = form_field(form, "name", 100)
    text = str(form.get("text", "")).strip()[:2000]
    change = addressbook.add_template(request.app[DB], _caller(request), name, text)
    await _done(request, change, _("Template saved."))
    raise web.HTTPSeeOther("/contacts#templates")


@requires(Role.OPERATOR)
async def delete_template(request: web.Request) -> web.StreamResponse:
    change = addressbook.delete_template(request.app[DB], _caller(request), path_id(request))
    await _done(request, change, _("Template deleted."))
    raise web.HTTPSeeOther("/contacts#templates")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/contacts", contacts_page, name="contacts")
    router.add_post("/contacts", add_contact)
    router.add_post("/contacts/{id:\\d+}/delete", delete_contact)
    router.add_post("/groups", save_group)
    router.add_post("/groups/{id:\\d+}/delete", delete_group)
    router.add_post("/templates", add_template)
    router.add_post("/templates/{id:\\d+}/delete", delete_template)
