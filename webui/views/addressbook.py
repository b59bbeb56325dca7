"""The address book page: contacts (search, add, edit, delete, CSV import with a preview and
CSV export), groups (and who is in them) and message templates, kept by
:mod:`webui.services.addressbook`. A refusal shows the page again with the error beside the form
and what was typed still in it (status 422); nothing is written."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

from aiohttp import web

from gatewayd.store import Role, utc_now
from webui.auth.identity import requires
from webui.i18n import gettext as _
from webui.i18n import ngettext
from webui.keys import DB, SENDING
from webui.services import addressbook, contact_import
from webui.services.caller import Caller
from webui.services.errors import Conflict, Invalid, NotFound, ServiceError
from webui.streaming import stream_csv
from webui.views.common import (
    client_address,
    identity_of,
    int_or_none,
    notify,
    path_id,
    posted_form,
    read_form,
    render,
    row_ids,
)
from webui.views.common import field as form_field
from webui.views.errors import problem_sentence, translated_error


def _caller(request: web.Request) -> Caller:
    return Caller(identity_of(request).actor, client_address(request))


async def _region(request: web.Request) -> str | None:
    return await request.app[SENDING].preferences.default_region()


async def _page(
    request: web.Request,
    *,
    typed: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    """The page; ``typed``: the form that was refused (``form``: which one, ``values``)."""
    search = str(request.query.get("q", "")).strip()[:100]
    async with request.app[DB].read() as conn:
        book = await addressbook.address_book(conn, search)
        everyone = book if not search else await addressbook.address_book(conn)
    context = {
        "book": book,
        "everyone": everyone.contacts,
        "names": {person.id: person.name for person in everyone.contacts},
        "search": search,
        "typed": typed or {},
        "error": error,
    }
    return await render(request, "contacts.html", context, page="contacts", status=status)


async def contacts_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def _saved_or_shown(
    request: web.Request,
    change: Awaitable[Any],
    saved: str,
    typed: dict[str, Any],
    target: str = "/contacts",
) -> web.StreamResponse:
    """Await ``change``: then notify ``saved`` and go back; on a refusal show the page again
    with the error and what was typed."""
    try:
        await change
    except ServiceError as exc:
        error = translated_error(exc.code, exc.message, exc.detail)
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 422
        typed = {**typed, "field": exc.field}
        return await _page(request, typed=typed, error=error, status=status)
    await notify(request, saved)
    raise web.HTTPSeeOther(target)


@requires(Role.OPERATOR)
async def add_contact(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    name, number = form_field(form, "name", 100), form_field(form, "number", 40)
    change = addressbook.add_contact(
        request.app[DB], _caller(request), name, number, await _region(request)
    )
    typed = {"form": "contact", "name": name, "number": number}
    return await _saved_or_shown(request, change, _("Contact saved."), typed)


@requires(Role.OPERATOR)
async def edit_contact(request: web.Request) -> web.StreamResponse:
    contact_id = path_id(request)
    form = await read_form(request)
    name, number = form_field(form, "name", 100), form_field(form, "number", 40)
    change = addressbook.edit_contact(
        request.app[DB], _caller(request), contact_id, name, number, await _region(request)
    )
    typed = {"form": f"edit-{contact_id}", "name": name, "number": number}
    return await _saved_or_shown(request, change, _("Contact saved."), typed)


@requires(Role.OPERATOR)
async def delete_contact(request: web.Request) -> web.StreamResponse:
    change = addressbook.delete_contact(request.app[DB], _caller(request), path_id(request))
    return await _saved_or_shown(request, change, _("Contact deleted."), {})


@requires(Role.OPERATOR)
async def save_group(request: web.Request) -> web.StreamResponse:
    """Create a group (no ``id``) or replace an existing group's members."""
    form = await read_form(request)
    given_id = form_field(form, "id", 40)
    group_id = int_or_none(given_id)
    name = form_field(form, "name", 100)
    typed = {"form": "group", "name": name}
    if given_id and group_id is None:
        change: Awaitable[Any] = _refuse(NotFound("not_found", "no such group"))
    else:
        change = addressbook.save_group(
            request.app[DB],
            _caller(request),
            group_id,
            name,
            row_ids(form.getall("member", [])),
        )
    return await _saved_or_shown(request, change, _("Group saved."), typed)


async def _refuse(error: ServiceError) -> None:
    raise error


@requires(Role.OPERATOR)
async def delete_group(request: web.Request) -> web.StreamResponse:
    change = addressbook.delete_group(request.app[DB], _caller(request), path_id(request))
    return await _saved_or_shown(request, change, _("Group deleted."), {})


@requires(Role.OPERATOR)
async def add_template(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    name = form_field(form, "name", 100)
    text = str(form.get("text", "")).strip()[:2000]
    change = addressbook.add_template(request.app[DB], _caller(request), name, text)
    typed = {"form": "template", "name": name, "text": text}
    return await _saved_or_shown(
        request, change, _("Template saved."), typed, target="/contacts#templates"
    )


@requires(Role.OPERATOR)
async def delete_template(request: web.Request) -> web.StreamResponse:
    change = addressbook.delete_template(request.app[DB], _caller(request), path_id(request))
    return await _saved_or_shown(
        request, change, _("Template deleted."), {}, target="/contacts#templates"
    )


def _row_problem(row: contact_import.ImportRow) -> str | None:
    if row.code is None:
        return None
    typed = row.typed.removeprefix("'")
    return problem_sentence(
        {"code": row.code, "to": typed, "reason": row.reason, "message": row.message}
    )


async def _import_data(request: web.Request) -> tuple[bytes, bool]:
    """The CSV of an import (an uploaded ``file``, or the ``csv`` text the preview posts back)
    and whether the operator confirmed it."""
    posted = await posted_form(request)
    upload = posted.get("file")
    if isinstance(upload, web.FileField):
        return upload.file.read(contact_import.MAX_BYTES + 1), False
    text = posted.get("csv")
    confirmed = posted.get("confirm") == "yes"
    if isinstance(text, str) and text:
        if "\x00" in text:
            raise Invalid("invalid_csv", "the file holds a NUL character", "file")
        return text.encode("utf-8", "surrogatepass"), confirmed
    raise Invalid("empty_csv", "choose a CSV file", "file")


@requires(Role.OPERATOR)
async def import_contacts(request: web.Request) -> web.StreamResponse:
    """Upload → a preview of every row; the preview's button imports the valid rows."""
    try:
        data, confirmed = await _import_data(request)
        plan = await contact_import.plan_import(request.app[DB], data, await _region(request))
    except ServiceError as exc:
        error = translated_error(exc.code, exc.message, exc.detail)
        return await _page(request, typed={"form": "import"}, error=error, status=422)
    if confirmed:
        added, renamed = await contact_import.apply_import(request.app[DB], _caller(request), plan)
        await notify(
            request,
            ngettext("%(n)d contact added", "%(n)d contacts added", added) % {"n": added}
            + ", "
            + ngettext("%(n)d renamed.", "%(n)d renamed.", renamed) % {"n": renamed},
        )
        raise web.HTTPSeeOther("/contacts")
    rows = [{"row": row, "problem": _row_problem(row)} for row in plan.rows]
    context = {
        "rows": rows,
        "counts": {a: plan.count(a) for a in ("new", "rename", "same", "error")},
        "csv": data.decode("utf-8-sig", "replace"),
    }
    return await render(request, "contacts_import.html", context, page="contacts")


async def contacts_csv(request: web.Request) -> web.StreamResponse:
    """Every contact: name, number and the groups it is in (the import reads it back)."""
    async with request.app[DB].read() as conn:
        book = await addressbook.address_book(conn)
    groups: dict[int, list[str]] = {}
    for group in book.groups:
        for member in group.member_ids:
            groups.setdefault(member, []).append(group.name)

    async def one_batch() -> AsyncIterator[list[Any]]:
        yield list(book.contacts)

    def row(person: Any) -> tuple[Any, ...]:
        return (person.name, person.number, "; ".join(groups.get(person.id, [])))

    name = f"contacts-{utc_now():%Y%m%d-%H%M}.csv"
    return await stream_csv(request, name, ("name", "number", "groups"), one_batch(), row)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/contacts", contacts_page, name="contacts")
    router.add_get("/contacts.csv", contacts_csv, name="contacts_csv")
    router.add_post("/contacts", add_contact)
    router.add_post("/contacts/import", import_contacts)
    router.add_post("/contacts/{id:\\d+}", edit_contact)
    router.add_post("/contacts/{id:\\d+}/delete", delete_contact)
    router.add_post("/groups", save_group)
    router.add_post("/groups/{id:\\d+}/delete", delete_group)
    router.add_post("/templates", add_template)
    router.add_post("/templates/{id:\\d+}/delete", delete_template)
