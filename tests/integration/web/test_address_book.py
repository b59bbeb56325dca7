"""The address book through its pages as an operator uses them: contacts, groups and message
templates are created, listed, edited (a contact, a group's members) and deleted, and each step
is read back from the database and from the page; mistakes show the page again with the error
and what was typed, and change nothing; viewers only read. (Templates have no edit form and the
API has no address book.)"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from sqlalchemy import func, select

from gatewayd.store import (
    audit_log,
    contact_group_members,
    contact_groups,
    contacts,
    message_templates,
)
from tests.integration.web.conftest import WebEnv, csrf_from, login

ANA = ("Ana Souza", "+5511987650001")
BRUNO = ("Bruno Lima", "+5521987650002")
CARLA = ("Carla Dias", "+5531987650003")


class Book:
    """An operator's browser on the address book page."""

    def __init__(self, web: WebEnv) -> None:
        self.web = web
        self.token = ""
        self.page = ""

    async def open(self) -> str:
        page = await self.web.client.get("/contacts")
        assert page.status == 200
        html = await page.text()
        self.token = csrf_from(html)
        return html

    async def post(self, path: str, form: list[tuple[str, str]] | dict[str, str]) -> str:
        """Post a form of the page; the page the redirect lands on (with its notice)."""
        if not self.token:
            await self.open()
        fields = list(form.items()) if isinstance(form, dict) else list(form)
        response = await self.web.client.post(
            path, data=[("csrf_token", self.token), *fields], allow_redirects=False
        )
        assert response.status == 303, (path, response.status, await response.text())
        location = response.headers["Location"]
        assert location.startswith("/contacts"), location
        return await self.open()

    async def add_contact(self, name: str, number: str) -> str:
        return await self.post("/contacts", {"name": name, "number": number})

    async def refused(
        self, path: str, form: list[tuple[str, str]] | dict[str, str], status: int = 422
    ) -> str:
        """Post a form the page refuses: it comes back (``status``) with the error and what
        was typed; the error's text is returned."""
        fields = list(form.items()) if isinstance(form, dict) else list(form)
        response = await self.web.client.post(
            path, data=[("csrf_token", self.token), *fields], allow_redirects=False
        )
        html = await response.text()
        assert response.status == status, (path, response.status, html[:500])
        found = re.search(r'id="contacts-error">([^<]*)</div>', html)
        assert found, html[:2000]
        self.page = html
        return unescape(found.group(1))


async def signed_in(web: WebEnv, role: str = "operator") -> Book:
    assert (await login(web.client, role)).status == 303
    book = Book(web)
    await book.open()
    return book


def notice(html: str) -> tuple[str, str] | None:
    found = re.search(r'<div class="notice notice-(\w+)" role="status">([^<]*)</div>', html)
    return (found.group(1), unescape(found.group(2))) if found else None


async def rows(web: WebEnv, table: Any) -> list[Any]:
    async with web.db.read() as conn:
        return list((await conn.execute(select(table).order_by(table.c.id))).all())


async def contact_id(web: WebEnv, number: str) -> int:
    async with web.db.read() as conn:
        found = await conn.execute(select(contacts.c.id).where(contacts.c.number == number))
        return int(found.scalar_one())


async def group_id(web: WebEnv, name: str) -> int:
    async with web.db.read() as conn:
        found = await conn.execute(select(contact_groups.c.id).where(contact_groups.c.name == name))
        return int(found.scalar_one())


async def members(web: WebEnv, group: int) -> set[int]:
    async with web.db.read() as conn:
        found = await conn.execute(
            select(contact_group_members.c.contact_id).where(
                contact_group_members.c.group_id == group
            )
        )
        return {row[0] for row in found}


async def actions(web: WebEnv) -> list[tuple[str, str, str | None]]:
    async with web.db.read() as conn:
        found = await conn.execute(
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.target)
            .where(audit_log.c.action != "login")
            .order_by(audit_log.c.id)
        )
        return [(row.actor, row.action, row.target) for row in found]


# ---- contacts ----


async def test_contacts_are_added_listed_and_deleted(web: WebEnv) -> None:
    book = await signed_in(web)
    assert "No contacts yet." in await book.open()

    page = await book.add_contact(*ANA)
    assert notice(page) == ("ok", "Contact saved.")
    # A number without + is read in the gateway's default country; typed spacing is dropped.
    page = await book.add_contact(BRUNO[0], "+55 21 98765-0002")
    saved = await rows(web, contacts)
    assert [(row.name, row.number) for row in saved] == [ANA, BRUNO]
    for name, number in (ANA, BRUNO):
        assert name in page and number in page
        assert f'href="/compose?to={number.replace("+", "%2B")}"' in page
    assert "No contacts yet." not in page

    ana = await contact_id(web, ANA[1])
    page = await book.post(f"/contacts/{ana}/delete", {})
    assert notice(page) == ("ok", "Contact deleted.")
    assert [(row.name, row.number) for row in await rows(web, contacts)] == [BRUNO]
    assert ANA[0] not in page and BRUNO[0] in page
    assert await actions(web) == [
        ("user:operator", "contact.create", ANA[1]),
        ("user:operator", "contact.create", BRUNO[1]),
        ("user:operator", "contact.delete", f"contact:{ana}"),
    ]


async def test_contact_mistakes_are_shown_with_what_was_typed_and_change_nothing(
    web: WebEnv,
) -> None:
    book = await signed_in(web)
    await book.add_contact(*ANA)
    cases = [
        (
            {"name": "Ana de novo", "number": ANA[1]},
            "That name or number is already in the address book.",
            409,
        ),
        (
            {"name": "Nobody", "number": "+55 12345"},
            "“+55 12345” is not a valid phone number.",
            422,
        ),
        (
            {"name": "Nobody", "number": "not a number"},
            "“not a number” is not a phone number.",
            422,
        ),
        ({"name": "   ", "number": BRUNO[1]}, "Give the contact a name.", 422),
        ({"number": BRUNO[1]}, "Give the contact a name.", 422),
    ]
    for form, message, status in cases:
        assert await book.refused("/contacts", form, status) == message, form
        # What was typed is still in the form, to be corrected.
        assert f'maxlength="40" value="{form["number"]}"' in book.page
    assert [(row.name, row.number) for row in await rows(web, contacts)] == [ANA]
    assert [action for _, action, _ in await actions(web)] == ["contact.create"]


async def test_a_number_without_country_code_and_no_default_country_says_how_to_fix_it(
    web: WebEnv,
) -> None:
    """The settings have no default region here: the refusal names the number and the fix,
    and the number stays in the field."""
    book = await signed_in(web)
    message = await book.refused("/contacts", {"name": "Dora", "number": "11 98765-4321"})
    assert message == (
        "“11 98765-4321” has no country code: write it with + and the country code "
        "(such as +55 11 98765-4321), or set the default country."
    )
    assert 'value="11 98765-4321"' in book.page and 'value="Dora"' in book.page
    assert await rows(web, contacts) == []


async def test_a_contact_is_edited_and_found_by_search(web: WebEnv) -> None:
    book = await signed_in(web)
    await book.add_contact(*ANA)
    await book.add_contact(*BRUNO)
    ana = await contact_id(web, ANA[1])
    page = await book.post(
        f"/contacts/{ana}", {"name": "Ana S. Souza", "number": "+55 11 98765-0009"}
    )
    assert notice(page) == ("ok", "Contact saved.")
    assert [(r.name, r.number) for r in await rows(web, contacts)] == [
        ("Ana S. Souza", "+5511987650009"),
        BRUNO,
    ]
    # A mistake keeps the edit form open with what was typed.
    message = await book.refused(f"/contacts/{ana}", {"name": "Ana", "number": "+55 999"})
    assert message == "“+55 999” is not a valid phone number."
    assert 'value="+55 999"' in book.page and '<details class="edit" open>' in book.page
    taken = await book.refused(f"/contacts/{ana}", {"name": "Ana", "number": BRUNO[1]}, 409)
    assert taken == "That name or number is already in the address book."
    gone = await book.refused("/contacts/999999", {"name": "X", "number": ANA[1]}, 404)
    assert gone == "Not found."
    # Search by part of a name (any case) or of a number.
    for query, found, hidden in (("souza", "Ana S. Souza", BRUNO[0]), ("2198", BRUNO[0], "Ana")):
        html = await (await web.client.get(f"/contacts?q={query}")).text()
        listed = re.findall(r'class="contact-name">([^<]*)<', html)
        assert listed == [found], (query, listed)
        assert hidden not in listed
    assert [(a, t) for _, a, t in await actions(web)][-1] == ("contact.update", f"contact:{ana}")


async def test_deleting_what_is_not_there_says_so_and_audits_nothing(web: WebEnv) -> None:
    book = await signed_in(web)
    await book.add_contact(*ANA)
    await book.post("/groups", {"name": "Plantão"})
    await book.post("/templates", {"name": "Aviso", "text": "Manutenção às 22h."})
    before = await actions(web)
    for kind in ("contacts", "groups", "templates"):
        assert await book.refused(f"/{kind}/999999/delete", {}, 404) == "Not found.", kind
        # An id no row can have (beyond BIGINT) is a 404 page, not a database error.
        beyond = await web.client.post(
            f"/{kind}/{2**70}/delete", data={"csrf_token": book.token}, allow_redirects=False
        )
        assert beyond.status == 404, kind
        assert 'id="error-page" data-status="404"' in await beyond.text(), kind
    assert [(row.name, row.number) for row in await rows(web, contacts)] == [ANA]
    assert len(await rows(web, contact_groups)) == len(await rows(web, message_templates)) == 1
    assert await actions(web) == before


# ---- groups ----


async def test_groups_are_created_edited_and_deleted(web: WebEnv) -> None:
    book = await signed_in(web)
    for person in (ANA, BRUNO, CARLA):
        await book.add_contact(*person)
    ana, bruno, carla = [await contact_id(web, number) for _, number in (ANA, BRUNO, CARLA)]

    page = await book.post("/groups", {"name": "Plantão"})
    assert notice(page) == ("ok", "Group saved.")
    plantao = await group_id(web, "Plantão")
    assert await members(web, plantao) == set()
    assert "Plantão" in page and "(0)" in page

    page = await book.post(
        "/groups", [("id", str(plantao)), ("member", str(ana)), ("member", str(carla))]
    )
    assert notice(page) == ("ok", "Group saved.")
    assert await members(web, plantao) == {ana, carla}
    assert "(2)" in page
    for person in (ana, carla):
        assert f'name="member" value="{person}" checked' in page
    assert f'name="member" value="{bruno}" >' in page

    # Saving the members again replaces them: Carla leaves, Bruno joins.
    page = await book.post(
        "/groups", [("id", str(plantao)), ("member", str(ana)), ("member", str(bruno))]
    )
    assert await members(web, plantao) == {ana, bruno}
    # A new group can start with members.
    page = await book.post("/groups", [("name", "Diretoria"), ("member", str(carla))])
    diretoria = await group_id(web, "Diretoria")
    assert await members(web, diretoria) == {carla}
    assert [row.name for row in await rows(web, contact_groups)] == ["Plantão", "Diretoria"]

    # A deleted contact leaves its groups; a deleted group leaves its contacts.
    await book.post(f"/contacts/{ana}/delete", {})
    assert await members(web, plantao) == {bruno}
    page = await book.post(f"/groups/{plantao}/delete", {})
    assert notice(page) == ("ok", "Group deleted.")
    assert [row.name for row in await rows(web, contact_groups)] == ["Diretoria"]
    assert await members(web, plantao) == set()
    assert "Plantão" not in page
    assert {row.number for row in await rows(web, contacts)} == {BRUNO[1], CARLA[1]}

    saves = [
        (action, target) for _, action, target in await actions(web) if action.startswith("group.")
    ]
    assert saves == [
        ("group.save", f"group:{plantao}"),
        ("group.save", f"group:{plantao}"),
        ("group.save", f"group:{plantao}"),
        ("group.save", f"group:{diretoria}"),
        ("group.delete", f"group:{plantao}"),
    ]


async def test_group_mistakes_get_a_notice_and_change_nothing(web: WebEnv) -> None:
    book = await signed_in(web)
    await book.add_contact(*ANA)
    await book.post("/groups", {"name": "Plantão"})
    plantao = await group_id(web, "Plantão")
    for form, message, status in (
        ({"name": "Plantão"}, "That name or number is already in the address book.", 409),
        ({"name": "  "}, "Give the group a name.", 422),
        ({}, "Give the group a name.", 422),
    ):
        assert await book.refused("/groups", form, status) == message, form
    assert [row.name for row in await rows(web, contact_groups)] == ["Plantão"]
    assert await members(web, plantao) == set()


async def test_a_stale_or_odd_members_form_saves_the_contacts_that_exist(web: WebEnv) -> None:
    book = await signed_in(web)
    await book.add_contact(*ANA)
    await book.add_contact(*BRUNO)
    ana, bruno = await contact_id(web, ANA[1]), await contact_id(web, BRUNO[1])
    await book.post("/groups", {"name": "Plantão"})
    plantao = await group_id(web, "Plantão")
    await book.post(f"/contacts/{bruno}/delete", {})  # after the form below was shown
    form = [
        ("id", str(plantao)),
        ("member", str(ana)),
        ("member", str(bruno)),
        ("member", str(ana)),
        ("member", str(2**70)),
        ("member", "²"),
        ("member", "-3"),
    ]
    page = await book.post("/groups", form)
    assert notice(page) == ("ok", "Group saved.")
    assert await members(web, plantao) == {ana}

    before = await actions(web)
    for gone in ("999999", str(2**70), "-1"):
        found = await book.refused("/groups", [("id", gone), ("member", str(ana))], 404)
        assert found == "Not found.", gone
    assert await actions(web) == before
    assert [row.name for row in await rows(web, contact_groups)] == ["Plantão"]


# ---- templates ----


async def test_templates_are_added_listed_offered_on_compose_and_deleted(web: WebEnv) -> None:
    book = await signed_in(web)
    text = "Olá! Sua fatura vence amanhã. Dúvidas: (11) 4002-8922"
    page = await book.post("/templates", {"name": "Cobrança", "text": f"  {text}\n"})
    assert notice(page) == ("ok", "Template saved.")
    await book.post("/templates", {"name": "Aviso", "text": "Manutenção às 22h."})
    saved = await rows(web, message_templates)
    assert [(row.name, row.text) for row in saved] == [
        ("Cobrança", text),
        ("Aviso", "Manutenção às 22h."),
    ]
    assert "Cobrança" in page and "Sua fatura vence amanhã" in page

    compose = await (await web.client.get("/compose")).text()
    offered = re.findall(r'<option data-text="([^"]*)">([^<]*)</option>', compose)
    assert [(unescape(name), unescape(body)) for body, name in offered] == [
        ("Aviso", "Manutenção às 22h."),
        ("Cobrança", text),
    ]

    page = await book.post(f"/templates/{saved[0].id}/delete", {})
    assert notice(page) == ("ok", "Template deleted.")
    assert [row.name for row in await rows(web, message_templates)] == ["Aviso"]
    assert "Cobrança" not in page
    assert [action for _, action, _ in await actions(web)] == [
        "template.create",
        "template.create",
        "template.delete",
    ]


async def test_template_mistakes_get_a_notice_and_change_nothing(web: WebEnv) -> None:
    book = await signed_in(web)
    await book.post("/templates", {"name": "Aviso", "text": "Manutenção às 22h."})
    for form, message, status in (
        (
            {"name": "Aviso", "text": "outro"},
            "That name or number is already in the address book.",
            409,
        ),
        ({"name": "Vazio", "text": "   "}, "A template needs a name and a text.", 422),
        ({"name": "", "text": "sem nome"}, "A template needs a name and a text.", 422),
    ):
        assert await book.refused("/templates", form, status) == message, form
        assert f"{form['text'].strip()}</textarea>" in book.page
    assert [(row.name, row.text) for row in await rows(web, message_templates)] == [
        ("Aviso", "Manutenção às 22h.")
    ]


# ---- who may change the book ----


async def test_viewers_see_the_book_but_cannot_change_it(web: WebEnv) -> None:
    operator = await signed_in(web)
    await operator.add_contact(*ANA)
    await operator.post(
        "/groups", [("name", "Plantão"), ("member", str(await contact_id(web, ANA[1])))]
    )
    await operator.post("/templates", {"name": "Aviso", "text": "Manutenção às 22h."})
    await web.client.post("/logout", data={"csrf_token": operator.token})

    viewer = await signed_in(web, "viewer")
    page = await viewer.open()
    assert ANA[0] in page and "Plantão" in page and "Aviso" in page
    assert 'method="post" action="/contacts"' not in page and 'action="/groups"' not in page
    assert 'action="/templates"' not in page and "/delete" not in page
    assert 'action="/contacts/import"' not in page
    ana = await contact_id(web, ANA[1])
    attempts = [
        ("/contacts", {"name": "X", "number": BRUNO[1]}),
        ("/groups", {"name": "Outro"}),
        ("/templates", {"name": "T", "text": "t"}),
        (f"/contacts/{ana}/delete", {}),
        (f"/groups/{await group_id(web, 'Plantão')}/delete", {}),
        (f"/contacts/{ana}", {"name": "Y", "number": BRUNO[1]}),
        ("/contacts/import", {"csv": f"Z,{BRUNO[1]}", "confirm": "yes"}),
    ]
    for path, form in attempts:
        response = await web.client.post(
            path, data={"csrf_token": viewer.token, **form}, allow_redirects=False
        )
        assert response.status == 403, path
    async with web.db.read() as conn:
        counts = [
            (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            for table in (contacts, contact_groups, contact_group_members, message_templates)
        ]
    assert counts == [1, 1, 1, 1]
