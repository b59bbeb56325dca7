"""The compose form as an operator posts it: one number, several, contacts, a group, a
scheduled time, a chosen modem and the options, each read back from the queue (what exactly
was queued, by whom, together); and every mistake answered on the page itself, with the error
shown, what was typed kept, and nothing queued. (Picking a template fills the text in the
browser: tests/browser/test_compose.py.)"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from gatewayd.store import audit_log, contact_groups, contacts, messages, modems, utc_now
from tests.integration.web.conftest import (
    OptionsFactory,
    WebEnv,
    csrf_from,
    login,
    make_web_env,
    settings_for,
)

ANA = "+5511987650001"
BRUNO = "+5521987650002"
CARLA = "+5531987650003"


@pytest.fixture
async def web(db_url: str, web_options: OptionsFactory) -> AsyncIterator[WebEnv]:
    """As the conftest's, with Brazil as the default country (numbers typed without +55)."""
    settings = settings_for(db_url, SMSGW_DEFAULT_REGION="BR")
    async for env in make_web_env(settings, web_options):
        yield env


class Compose:
    def __init__(self, web: WebEnv) -> None:
        self.web = web
        self.token = ""

    async def page(self, query: str = "") -> str:
        response = await self.web.client.get(f"/compose{query}")
        assert response.status == 200
        html = await response.text()
        self.token = csrf_from(html)
        return html

    async def send(self, **fields: str | list[str]) -> Any:
        """Post the form as the browser does (the status-report checkbox, then its hidden
        "off"); the response, not followed."""
        if not self.token:
            await self.page()
        offset = str(fields.pop("tz_offset", "0"))
        data: list[tuple[str, str]] = [("csrf_token", self.token), ("tz_offset", offset)]
        report = fields.pop("status_report", "on")
        for name, value in fields.items():
            values = value if isinstance(value, list) else [value]
            data.extend((name, item) for item in values)
        if report == "on":
            data.append(("status_report", "on"))
        data.append(("status_report", "off"))
        return await self.web.client.post("/compose", data=data, allow_redirects=False)


async def operator(web: WebEnv) -> Compose:
    assert (await login(web.client, "operator")).status == 303
    compose = Compose(web)
    await compose.page()
    return compose


async def queued(web: WebEnv) -> list[Any]:
    async with web.db.read() as conn:
        return list((await conn.execute(select(messages).order_by(messages.c.id))).all())


async def add_contacts(web: WebEnv) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with web.db.begin() as conn:
        for name, number in (("Ana", ANA), ("Bruno", BRUNO), ("Carla", CARLA)):
            result = await conn.execute(
                insert(contacts)
                .values(name=name, number=number, created_at=utc_now())
                .returning(contacts.c.id)
            )
            ids[name] = int(result.scalar_one())
    return ids


def error_of(html: str) -> str:
    found = re.search(
        r'<div class="notice notice-error" role="alert" id="compose-error">'
        r"([^<]*)",
        html,
    )
    assert found is not None, "no error shown"
    return unescape(found.group(1)).strip()


def field_value(html: str, name: str) -> str:
    textarea = re.search(rf'<textarea id="{name}" name="{name}"[^>]*>([^<]*)</textarea>', html)
    if textarea:
        return unescape(textarea.group(1))
    found = re.search(rf'<input[^>]* name="{name}" value="([^"]*)"', html)
    assert found is not None, name
    return unescape(found.group(1))


def checked(html: str, name: str) -> set[str]:
    return set(re.findall(rf'name="{name}" value="([^"]+)" checked', html))


# ---- what gets queued ----


async def test_one_number_is_queued_with_the_options_chosen(web: WebEnv) -> None:
    compose = await operator(web)
    response = await compose.send(to=f"  {ANA} ", text="Olá Ana!\r\nAté já.")
    (message,) = await queued(web)
    assert response.status == 303
    assert response.headers["Location"] == f"/outbox/{message.id}"
    assert (message.recipient, message.text, message.status) == (ANA, "Olá Ana!\nAté já.", "queued")
    assert (message.created_by, message.batch_id, message.send_at) == ("user:operator", None, None)
    assert (message.flash, message.status_report, message.modem) == (False, True, None)
    assert (message.encoding, message.segments) == ("ucs2", 1)
    shown = await (await web.client.get(response.headers["Location"])).text()
    assert "1 message queued." in shown and ANA in shown

    await compose.send(to=BRUNO, text="flash", flash="on", status_report="off")
    second = (await queued(web))[-1]
    assert (second.recipient, second.flash, second.status_report) == (BRUNO, True, False)
    async with web.db.read() as conn:
        sends = (
            await conn.execute(
                select(func.count())
                .select_from(audit_log)
                .where(audit_log.c.action == "message.send")
            )
        ).scalar_one()
    assert sends == 2


async def test_several_numbers_typed_any_way_are_one_batch_each_once(web: WebEnv) -> None:
    compose = await operator(web)
    # Commas, semicolons and new lines separate; spaces, dashes and brackets are part of a
    # number as people write it; the default country fills in +55.
    typed = f"{ANA}, 21 98765-0002;\n{CARLA}\n{ANA};  (31) 98765-0003"
    response = await compose.send(to=typed, text="Reunião às 15h")
    rows = await queued(web)
    assert [row.recipient for row in rows] == [ANA, BRUNO, CARLA]
    assert {row.batch_id for row in rows} == {rows[0].id}
    assert {row.text for row in rows} == {"Reunião às 15h"}
    assert response.headers["Location"] == f"/outbox?batch={rows[0].id}"
    batch = await (await web.client.get(response.headers["Location"])).text()
    assert "3 messages queued." in batch
    assert all(number in batch for number in (ANA, BRUNO, CARLA))


async def test_chosen_contacts_and_a_group_are_expanded_each_number_once(web: WebEnv) -> None:
    ids = await add_contacts(web)
    compose = await operator(web)
    # The group: Bruno and Carla, made through the page as an operator does.
    await compose.web.client.post(
        "/groups",
        data=[
            ("csrf_token", compose.token),
            ("name", "Plantão"),
            ("member", str(ids["Bruno"])),
            ("member", str(ids["Carla"])),
        ],
    )
    async with web.db.read() as conn:
        group = (await conn.execute(select(contact_groups.c.id))).scalar_one()

    await compose.page()
    response = await compose.send(to="", text="Só a Ana", contact=str(ids["Ana"]))
    assert response.status == 303
    assert [row.recipient for row in await queued(web)] == [ANA]

    response = await compose.send(
        to=BRUNO,
        text="Plantão hoje",
        group=str(group),
        contact=[str(ids["Ana"]), str(ids["Carla"])],
    )
    assert response.status == 303
    batch = [row for row in await queued(web) if row.text == "Plantão hoje"]
    # Typed first, then the contacts, then the group's members; Bruno and Carla once each.
    assert [row.recipient for row in batch] == [BRUNO, ANA, CARLA]
    assert {row.batch_id for row in batch} == {batch[0].id}


async def test_a_scheduled_send_is_queued_for_that_moment(web: WebEnv) -> None:
    compose = await operator(web)
    # The browser sends the local time and its getTimezoneOffset(): 180 in São Paulo (UTC-3).
    local = (datetime.now(UTC) - timedelta(hours=3) + timedelta(days=2)).replace(
        second=0, microsecond=0, tzinfo=None
    )
    response = await compose.send(
        to=ANA, text="Lembrete", send_at=local.isoformat("T", "minutes"), tz_offset="180"
    )
    assert response.status == 303
    (message,) = await queued(web)
    assert message.send_at == (local + timedelta(hours=3)).replace(tzinfo=UTC)
    assert message.status == "queued"
    detail = await (await web.client.get(response.headers["Location"])).text()
    assert "Lembrete" in detail


async def test_a_chosen_modem_is_kept_with_the_message(web: WebEnv) -> None:
    async with web.db.begin() as conn:
        await conn.execute(
            insert(modems).values(
                name="claro1", host="h1", device="/dev/x", state="online", last_seen=utc_now()
            )
        )
    compose = await operator(web)
    assert "<option >claro1</option>" in await compose.page()
    await compose.send(to=ANA, text="pela claro", modem="claro1")
    (message,) = await queued(web)
    assert message.modem == "claro1"


async def test_next_goes_back_to_the_inbox_thread_only(web: WebEnv) -> None:
    compose = await operator(web)
    thread = f"/inbox/{ANA.replace('+', '%2B')}"
    reply = await compose.send(to=ANA, text="resposta", next=thread)
    assert reply.headers["Location"] == thread
    elsewhere = await compose.send(to=ANA, text="outra", next="https://evil.example/")
    last = (await queued(web))[-1]
    assert elsewhere.headers["Location"] == f"/outbox/{last.id}"


async def test_the_page_offers_the_address_book_and_prefills_from_the_query(web: WebEnv) -> None:
    ids = await add_contacts(web)
    compose = await operator(web)
    html = await compose.page(f"?to={ANA.replace('+', '%2B')}&text=Oi&contact={ids['Bruno']}")
    assert field_value(html, "to") == ANA and field_value(html, "text") == "Oi"
    assert checked(html, "contact") == {str(ids["Bruno"])}
    assert all(number in html for number in (ANA, BRUNO, CARLA))


# ---- mistakes: shown on the page, input kept, nothing queued ----


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"to": "", "text": "sem destino"}, "Choose at least one recipient."),
        ({"to": " ,; ", "text": "só separadores"}, "Choose at least one recipient."),
        ({"to": "12345", "text": "número curto"}, "“12345” is not a valid phone number."),
        (
            {"to": "+55 11 99000-0002 +55 11 99000-0003", "text": "dois sem vírgula"},
            "“+55 11 99000-0002 +55 11 99000-0003” is not a phone number.",
        ),
        (
            {"to": f"{ANA}, 999, {BRUNO}", "text": "um ruim"},
            "Some recipients are not valid phone numbers.",
        ),
        ({"to": ANA, "text": ""}, "The text is empty."),
        ({"to": ANA, "text": "x" * 39_016}, "The text is too long: at most 255 parts can be sent."),
        (
            {"to": ANA, "text": "agendado", "send_at": "amanhã cedo"},
            "The scheduled time is not valid or more than a year ahead.",
        ),
        (
            {"to": ANA, "text": "agendado", "send_at": "2099-01-01T09:00"},
            "The scheduled time is not valid or more than a year ahead.",
        ),
        ({"to": ANA, "text": "modem", "modem": "nenhum"}, "There is no modem with that name."),
    ],
)
async def test_a_mistake_is_shown_with_the_input_kept_and_nothing_queued(
    web: WebEnv, fields: dict[str, str], error: str
) -> None:
    compose = await operator(web)
    response = await compose.send(**fields, flash="on", status_report="off")
    assert response.status == 422
    html = await response.text()
    assert error_of(html) == error
    assert field_value(html, "to") == fields["to"]
    assert field_value(html, "text") == fields["text"]
    if "send_at" in fields:
        assert field_value(html, "send_at") == fields["send_at"]
    assert 'name="flash" value="on" checked' in html
    assert 'name="status_report" value="on" checked' not in html
    assert await queued(web) == []
    # The form on the answer still works: corrected, it queues.
    compose.token = csrf_from(html)
    fixed = await compose.send(to=ANA, text="corrigido")
    assert fixed.status == 303
    assert [row.text for row in await queued(web)] == ["corrigido"]


async def test_the_invalid_recipients_are_listed(web: WebEnv) -> None:
    compose = await operator(web)
    response = await compose.send(to=f"{ANA}, 999, abc, {BRUNO}", text="lista")
    html = await response.text()
    listed = re.findall(r"<li><code>([^<]*)</code> — ", html)
    assert listed == ["999", "abc"]
    assert await queued(web) == []


async def test_chosen_contacts_and_groups_stay_chosen_after_a_mistake(web: WebEnv) -> None:
    ids = await add_contacts(web)
    compose = await operator(web)
    await compose.web.client.post(
        "/groups",
        data=[("csrf_token", compose.token), ("name", "Plantão"), ("member", str(ids["Carla"]))],
    )
    async with web.db.read() as conn:
        group = str((await conn.execute(select(contact_groups.c.id))).scalar_one())
    await compose.page()
    response = await compose.send(to="", text="", contact=str(ids["Ana"]), group=group)
    html = await response.text()
    assert error_of(html) == "The text is empty."
    assert checked(html, "contact") == {str(ids["Ana"])}
    assert checked(html, "group") == {group}
    assert '<details class="pickers" open>' in html


async def test_too_many_recipients_are_refused(web: WebEnv) -> None:
    compose = await operator(web)
    numbers = ",".join(f"+55119{n:08d}" for n in range(5001))
    response = await compose.send(to=numbers, text="em massa")
    assert response.status == 422
    assert error_of(await response.text()) == "Too many recipients in one go (at most 5,000)."
    assert await queued(web) == []


async def test_odd_contact_and_group_values_are_ignored(web: WebEnv) -> None:
    compose = await operator(web)
    response = await compose.send(
        to="", text="ninguém", contact=["²", "-1", "x", str(2**70)], group=["٣", str(2**70)]
    )
    assert response.status == 422
    assert error_of(await response.text()) == "Choose at least one recipient."
    assert await queued(web) == []


async def test_odd_time_zone_offsets_fall_back_to_utc(web: WebEnv) -> None:
    compose = await operator(web)
    local = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0, tzinfo=None)
    for offset in ("abc", "99999"):
        response = await compose.send(
            to=ANA, text=f"tz {offset}", send_at=local.isoformat("T", "minutes"), tz_offset=offset
        )
        assert response.status == 303, offset
    assert {row.send_at for row in await queued(web)} == {local.replace(tzinfo=UTC)}


async def test_viewers_cannot_compose(web: WebEnv) -> None:
    assert (await login(web.client, "viewer")).status == 303
    assert (await web.client.get("/compose")).status == 403
    token = csrf_from(await (await web.client.get("/contacts")).text())
    response = await web.client.post(
        "/compose", data={"csrf_token": token, "to": ANA, "text": "não"}, allow_redirects=False
    )
    assert response.status == 403
    assert await queued(web) == []
