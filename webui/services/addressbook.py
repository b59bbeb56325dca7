"""The address book: contacts, groups (and who is in them) and message templates; reading it
whole, changing it (audited), and turning chosen contacts and groups into numbers for a send.

Numbers are checked by :func:`webui.services.numbers.check_number` (the wording the compose
page and the API use). Importing contacts from a CSV is :mod:`webui.services.contact_import`.

Refusals: :class:`~webui.services.errors.Invalid` (``invalid_number``, ``missing_name``,
``incomplete_template``), :class:`~webui.services.errors.NotFound` and
:class:`~webui.services.errors.Conflict` (``already_exists``: a name or number taken).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import (
    Database,
    contact_group_members,
    contact_groups,
    contacts,
    message_templates,
    utc_now,
)
from webui.audit import record
from webui.services.caller import Caller
from webui.services.errors import Conflict, Invalid, NotFound
from webui.services.numbers import check_number


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


@dataclass(frozen=True)
class BookRecipients:
    """Recipients chosen for a send: typed numbers, contacts and groups (by id)."""

    numbers: Sequence[str] = ()
    contact_ids: Sequence[int] = ()
    group_ids: Sequence[int] = ()


MAX_NAME = 100


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def address_book(conn: AsyncConnection, search: str = "") -> AddressBook:
    """Contacts (those whose name or number holds ``search``), every group and template."""
    query = select(contacts).order_by(contacts.c.name)
    if search:
        pattern = f"%{escape_like(search)}%"
        query = query.where(
            or_(
                contacts.c.name.ilike(pattern, escape="\\"),
                contacts.c.number.like(pattern, escape="\\"),
            )
        )
    people = (await conn.execute(query)).all()
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


async def expand_recipients(conn: AsyncConnection, chosen: BookRecipients) -> list[str]:
    """Typed numbers, then chosen contacts, then members of chosen groups (by name); numbers
    may repeat (the sender keeps each once)."""
    wanted = list(chosen.numbers)
    if chosen.contact_ids:
        rows = await conn.execute(
            select(contacts.c.number).where(contacts.c.id.in_(chosen.contact_ids))
        )
        wanted.extend(row.number for row in rows)
    if chosen.group_ids:
        rows = await conn.execute(
            select(contacts.c.number)
            .join(contact_group_members, contact_group_members.c.contact_id == contacts.c.id)
            .where(contact_group_members.c.group_id.in_(chosen.group_ids))
            .order_by(contacts.c.name)
        )
        wanted.extend(row.number for row in rows)
    return wanted


def _taken() -> Conflict:
    return Conflict("already_exists", "that name or number is already in the address book")


def _not_found(what: str) -> NotFound:
    return NotFound("not_found", f"{what} does not exist")


async def _write(
    db: Database, caller: Caller, action: str, target: str, statement: Any, *, what: str = ""
) -> None:
    """Run ``statement`` and audit it; ``what``: a row it must find (else `NotFound`)."""
    try:
        async with db.begin() as conn:
            result = await conn.execute(statement)
            if what and result.rowcount == 0:
                raise _not_found(what)
            await record(conn, caller.actor, action, target, None, caller.client_address)
    except IntegrityError:
        raise _taken() from None


def checked_contact(name: str, number: str, region: str | None) -> tuple[str, str]:
    """``(name, number in E.164)`` of a contact as typed, or the refusal."""
    name = " ".join(name.split())[:MAX_NAME]
    if not name:
        raise Invalid("missing_name", "give the contact a name", "name", what="contact")
    return name, check_number(number, region, "number")


async def add_contact(
    db: Database, caller: Caller, name: str, number: str, region: str | None
) -> None:
    name, number = checked_contact(name, number, region)
    statement = insert(contacts).values(name=name, number=number, created_at=utc_now())
    await _write(db, caller, "contact.create", number, statement)


async def edit_contact(
    db: Database, caller: Caller, contact_id: int, name: str, number: str, region: str | None
) -> None:
    name, number = checked_contact(name, number, region)
    statement = update(contacts).where(contacts.c.id == contact_id).values(name=name, number=number)
    await _write(db, caller, "contact.update", f"contact:{contact_id}", statement, what="contact")


async def names_of(conn: AsyncConnection, numbers: Sequence[str]) -> dict[str, str]:
    """The contact name of each of ``numbers`` that is in the address book."""
    wanted = sorted({n for n in numbers if n})
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        rows = await conn.execute(
            select(contacts.c.number, contacts.c.name).where(
                contacts.c.number.in_(wanted[start : start + 500])
            )
        )
        found.update({row.number: row.name for row in rows})
    return found


async def delete_contact(db: Database, caller: Caller, contact_id: int) -> None:
    statement = delete(contacts).where(contacts.c.id == contact_id)
    await _write(db, caller, "contact.delete", f"contact:{contact_id}", statement, what="contact")


async def delete_group(db: Database, caller: Caller, group_id: int) -> None:
    statement = delete(contact_groups).where(contact_groups.c.id == group_id)
    await _write(db, caller, "group.delete", f"group:{group_id}", statement, what="group")


async def delete_template(db: Database, caller: Caller, template_id: int) -> None:
    statement = delete(message_templates).where(message_templates.c.id == template_id)
    target = f"template:{template_id}"
    await _write(db, caller, "template.delete", target, statement, what="template")


async def add_template(db: Database, caller: Caller, name: str, text: str) -> None:
    if not name or not text:
        raise Invalid("incomplete_template", "a template needs a name and a text", "text")
    statement = insert(message_templates).values(name=name, text=text, created_at=utc_now())
    await _write(db, caller, "template.create", name, statement)


async def _exists(conn: AsyncConnection, table: Any, row_id: int) -> bool:
    return (await conn.execute(select(table.c.id).where(table.c.id == row_id))).first() is not None


async def save_group(
    db: Database, caller: Caller, group_id: int | None, name: str, wanted: Sequence[int]
) -> int:
    """Create a group (``group_id`` None, named ``name``) or replace an existing group's
    members with ``wanted``; a contact deleted meanwhile is left out. Returns the group's id."""
    try:
        async with db.begin() as conn:
            if group_id is None:
                if not name:
                    raise Invalid("missing_name", "give the group a name", "name", what="group")
                result = await conn.execute(
                    insert(contact_groups)
                    .values(name=name, created_at=utc_now())
                    .returning(contact_groups.c.id)
                )
                group_id = int(result.scalar_one())
            elif not await _exists(conn, contact_groups, group_id):
                raise _not_found("group")
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
                caller.actor,
                "group.save",
                f"group:{group_id}",
                {"members": len(members)},
                caller.client_address,
            )
    except IntegrityError:
        raise _taken() from None
    return group_id
