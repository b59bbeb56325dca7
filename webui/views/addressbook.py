"""The address book page: contacts, groups (and who is in them) and message templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.numbers import InvalidNumber, normalise
from gatewayd.store import (
    Role,
    contact_group_members,
    contact_groups,
    contacts,
    message_templates,
    utc_now,
)
from webui.audit import record
from webui.auth.identity import requires
from webui.i18n import gettext as _
from webui.keys import DB, SETTINGS
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


@dataclass
class Group:
    id: int
    name: str
    member_ids: list[int] = field(default_factory=list)


@dataclass
class AddressBook:
    contacts: list[Any]
    groups: list[Group]
    templates: list[Any]


async def address_book(conn: AsyncConnection) -> AddressBook:
    people = (await conn.execute(select(contacts).order_by(contacts.c.name))).all()
    groups = {
        row.id: Group(row.id, row.name)
        for row in await conn.execute(select(contact_groups).order_by(contact_groups.c.name))
    }
    for member in await conn.execute(select(contact_group_members)):
        groups[member.group_id].member_ids.append(member.contact_id)
    templates = (
        await conn.execute(select(message_templates).order_by(message_templates.c.name))
    ).all()
    return AddressBook(list(people), list(groups.values()), list(templates))


async def contacts_page(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].read() as conn:
        book = await address_book(conn)
    names = {person.id: person.name for person in book.contacts}
    return await render(request, "contacts.html", {"book": book, "names": names}, page="contacts")


async def _write(
    request: web.Request, action: str, target: str, statement: Any, *, must_match: bool = False
) -> bool:
    """Run ``statement`` and audit it; ``must_match``: a row it did not find is "Not found."."""
    identity = identity_of(request)
    try:
        async with request.app[DB].begin() as conn:
            result = await conn.execute(statement)
            if must_match and result.rowcount == 0:
                await notify(request, _("Not found."), "error")
                return False
            await record(conn, identity.actor, action, target, None, client_address(request))
    except IntegrityError:
        await notify(request, _("That name or number is already in the address book."), "error")
        return False
    return True


@requires(Role.OPERATOR)
async def add_contact(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    name = form_field(form, "name", 100)
    try:
        number = normalise(
            form_field(form, "number", 40), request.app[SETTINGS].gateway.default_region
        )
    except InvalidNumber:
        await notify(request, _("A recipient number is not valid."), "error")
        raise web.HTTPSeeOther("/contacts") from None
    if not name:
        await notify(request, _("Give the contact a name."), "error")
        raise web.HTTPSeeOther("/contacts")
    statement = insert(contacts).values(name=name, number=number, created_at=utc_now())
    if await _write(request, "contact.create", number, statement):
        await notify(request, _("Contact saved."))
    raise web.HTTPSeeOther("/contacts")


@requires(Role.OPERATOR)
async def delete_contact(request: web.Request) -> web.StreamResponse:
    contact_id = path_id(request)
    statement = delete(contacts).where(contacts.c.id == contact_id)
    target = f"contact:{contact_id}"
    if await _write(request, "contact.delete", target, statement, must_match=True):
        await notify(request, _("Contact deleted."))
    raise web.HTTPSeeOther("/contacts")


async def _exists(conn: AsyncConnection, table: Any, row_id: int) -> bool:
    return (await conn.execute(select(table.c.id).where(table.c.id == row_id))).first() is not None


@requires(Role.OPERATOR)
async def save_group(request: web.Request) -> web.StreamResponse:
    """Create a group (no ``id``) or replace an existing group's members."""
    form = await read_form(request)
    identity = identity_of(request)
    given_id = form_field(form, "id", 40)
    group_id = int_or_none(given_id)
    name = form_field(form, "name", 100)
    wanted = row_ids(form.getall("member", []))
    try:
        async with request.app[DB].begin() as conn:
            if not given_id:
                if not name:
                    await notify(request, _("Give the group a name."), "error")
                    raise web.HTTPSeeOther("/contacts")
                result = await conn.execute(
                    insert(contact_groups)
                    .values(name=name, created_at=utc_now())
                    .returning(contact_groups.c.id)
                )
                group_id = int(result.scalar_one())
            elif group_id is None or not await _exists(conn, contact_groups, group_id):
                await notify(request, _("Not found."), "error")
                raise web.HTTPSeeOther("/contacts")
            # Each once; a contact deleted since the form was shown is left out.
            found = await conn.execute(select(contacts.c.id).where(contacts.c.id.in_(wanted)))
            members = sorted(row.id for row in found)
            await conn.execute(
                delete(contact_group_members).where(contact_group_members.c.group_id == group_id)
            )
            if members:
                await conn.execute(
                    insert(contact_group_members),
                    [{"group_id": group_id, "contact_id": member} for member in members],
                )
            await record(
                conn,
                identity.actor,
                "group.save",
                f"group:{group_id}",
                {"members": len(members)},
                client_address(request),
            )
    except IntegrityError:
        await notify(request, _("That name or number is already in the address book."), "error")
        raise web.HTTPSeeOther("/contacts") from None
    await notify(request, _("Group saved."))
    raise web.HTTPSeeOther("/contacts")


@requires(Role.OPERATOR)
async def delete_group(request: web.Request) -> web.StreamResponse:
    group_id = path_id(request)
    statement = delete(contact_groups).where(contact_groups.c.id == group_id)
    target = f"group:{group_id}"
    if await _write(request, "group.delete", target, statement, must_match=True):
        await notify(request, _("Group deleted."))
    raise web.HTTPSeeOther("/contacts")


@requires(Role.OPERATOR)
async def add_template(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    name = form_field(form, "name", 100)
    text = str(form.get("text", "")).strip()[:2000]
    if not name or not text:
        await notify(request, _("A template needs a name and a text."), "error")
        raise web.HTTPSeeOther("/contacts#templates")
    statement = insert(message_templates).values(name=name, text=text, created_at=utc_now())
    if await _write(request, "template.create", name, statement):
        await notify(request, _("Template saved."))
    raise web.HTTPSeeOther("/contacts#templates")


@requires(Role.OPERATOR)
async def delete_template(request: web.Request) -> web.StreamResponse:
    template_id = path_id(request)
    statement = delete(message_templates).where(message_templates.c.id == template_id)
    target = f"template:{template_id}"
    if await _write(request, "template.delete", target, statement, must_match=True):
        await notify(request, _("Template deleted."))
    raise web.HTTPSeeOther("/contacts#templates")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/contacts", contacts_page, name="contacts")
    router.add_post("/contacts", add_contact)
    router.add_post("/contacts/{id:\\d+}/delete", delete_contact)
    router.add_post("/groups", save_group)
    router.add_post("/groups/{id:\\d+}/delete", delete_group)
    router.add_post("/templates", add_template)
    router.add_post("/templates/{id:\\d+}/delete", delete_template)
