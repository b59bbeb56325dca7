"""The address book and the compose form as a person uses them in Chromium: contacts, a group
and a template made on the contacts page (and a contact deleted), then messages composed to a
group with a template, scheduled for later, and with a mistake. Each outcome is read back
with ``gatewayd show`` (what was queued) or from the page (what the person sees)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import Product, log_in

pytestmark = pytest.mark.browser

SAO_PAULO = "America/Sao_Paulo"  # UTC-3 all year


@pytest.fixture
def paulista(browser: Browser) -> Iterator[BrowserContext]:
    """A desktop browser in São Paulo's time zone, accepting every confirmation dialog."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 860},
        locale="en-US",
        timezone_id=SAO_PAULO,
        extra_http_headers={"Accept-Language": "en-US,en;q=0.8"},
    )
    context.set_default_timeout(15_000)
    context.on("page", lambda page: page.on("dialog", lambda dialog: dialog.accept()))
    try:
        yield context
    finally:
        context.close()


def unique_number() -> str:
    return f"+55119{uuid.uuid4().int % 10**8:08d}"


def shown(product: Product, message_id: int | str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(product.run("gatewayd", "show", str(message_id)))
    return found


def add_contact(page: Page, product: Product, name: str, number: str) -> None:
    page.goto(f"{product.base_url}/contacts")
    page.locator("#contact-name").fill(name)
    page.locator("#contact-number").fill(number)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".notice")).to_have_text("Contact saved.")
    expect(page.locator("ul.rows li", has_text=name)).to_contain_text(number)


def test_contacts_groups_and_templates_on_the_contacts_page(
    product: Product, paulista: BrowserContext
) -> None:
    tag = uuid.uuid4().hex[:6]
    people = {
        f"Ana {tag}": unique_number(),
        f"Bruno {tag}": unique_number(),
        f"Carla {tag}": unique_number(),
    }
    page = paulista.new_page()
    log_in(page, product, "operator")
    for name, number in people.items():
        add_contact(page, product, name, number)

    # A mistake: the same number again is refused with a notice, and nothing is added.
    page.locator("#contact-name").fill(f"Again {tag}")
    page.locator("#contact-number").fill(people[f"Ana {tag}"])
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".notice")).to_have_text(
        "That name or number is already in the address book."
    )
    expect(page.locator("ul.rows li", has_text=f"Again {tag}")).to_have_count(0)

    group = f"Plantão {tag}"
    page.locator("#group-name").fill(group)
    page.get_by_role("button", name="Create group").click()
    expect(page.locator(".notice")).to_have_text("Group saved.")
    details = page.locator("details.group", has_text=group)
    details.locator("summary").click()
    for name in (f"Ana {tag}", f"Carla {tag}"):
        details.get_by_label(name).check()
    details.get_by_role("button", name="Save members").click()
    expect(page.locator(".notice")).to_have_text("Group saved.")
    expect(page.locator("details.group", has_text=group).locator("summary")).to_contain_text("(2)")

    page.locator("#template-name").fill(f"Aviso {tag}")
    page.locator("#template-text").fill("Manutenção hoje às 22h.")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator(".notice")).to_have_text("Template saved.")
    expect(page.locator("#templates")).to_contain_text(f"Aviso {tag}")

    # Deleting Bruno (after the confirmation) removes him from the page and the compose picker.
    page.locator("ul.rows li", has_text=f"Bruno {tag}").get_by_role("button", name="Delete").click()
    expect(page.locator(".notice")).to_have_text("Contact deleted.")
    expect(page.locator("ul.rows li", has_text=f"Bruno {tag}")).to_have_count(0)
    page.goto(f"{product.base_url}/compose")
    pickers = page.locator("details.pickers")
    assert pickers.locator(f"text=Bruno {tag}").count() == 0
    expect(pickers).to_contain_text(f"Ana {tag}")
    expect(pickers.locator("label", has_text=group)).to_contain_text("(2)")


def test_compose_to_a_group_with_a_template(product: Product, paulista: BrowserContext) -> None:
    tag = uuid.uuid4().hex[:6]
    numbers = {f"Dora {tag}": unique_number(), f"Eva {tag}": unique_number()}
    text = f"Lembrete {tag}: reunião amanhã às 9h."
    page = paulista.new_page()
    log_in(page, product, "operator")
    for name, number in numbers.items():
        add_contact(page, product, name, number)
    page.locator("#group-name").fill(f"Equipe {tag}")
    page.get_by_role("button", name="Create group").click()
    details = page.locator("details.group", has_text=f"Equipe {tag}")
    details.locator("summary").click()
    for name in numbers:
        details.get_by_label(name).check()
    details.get_by_role("button", name="Save members").click()
    page.locator("#template-name").fill(f"Lembrete {tag}")
    page.locator("#template-text").fill(text)
    page.get_by_role("button", name="Save template").click()

    page.goto(f"{product.base_url}/compose")
    page.locator("details.pickers summary").click()
    page.locator("label", has_text=f"Equipe {tag}").locator("input").check()
    expect(page.locator("#picked-count")).to_have_text("(1)")
    page.get_by_label("Template").select_option(label=f"Lembrete {tag}")
    expect(page.get_by_label("Message", exact=True)).to_have_value(text)
    expect(page.locator("#counter")).to_have_attribute("data-encoding", "ucs2")
    page.get_by_role("button", name="Send", exact=True).click()

    page.wait_for_url(re.compile(r"/outbox\?batch=\d+$"))
    expect(page.locator(".notice")).to_have_text("2 messages queued.")
    ids = page.locator("tr[data-message-id]").evaluate_all(
        "rows => rows.map(row => row.dataset.messageId)"
    )
    queued = [shown(product, message_id) for message_id in ids]
    assert sorted(message["to"] for message in queued) == sorted(numbers.values())
    assert {message["text"] for message in queued} == {text}


def test_a_scheduled_send_waits_for_the_local_time_chosen(
    product: Product, paulista: BrowserContext
) -> None:
    number = unique_number()
    local = (datetime.now(UTC) - timedelta(hours=3) + timedelta(days=3)).replace(
        second=0, microsecond=0, tzinfo=None
    )
    page = paulista.new_page()
    log_in(page, product, "operator")
    page.goto(f"{product.base_url}/compose")
    page.get_by_label("Recipients").fill(number)
    page.get_by_label("Message", exact=True).fill("Consulta marcada")
    page.get_by_label("Send at").fill(local.isoformat("T", "minutes"))
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(re.compile(r"/outbox/\d+$"))
    message_id = page.url.rsplit("/", 1)[1]
    message = shown(product, message_id)
    expected = (local + timedelta(hours=3)).replace(tzinfo=UTC)
    assert message["send_at"] == expected.isoformat().replace("+00:00", "Z")
    assert (message["to"], message["status"]) == (number, "queued")


def test_a_mistake_is_shown_and_what_was_typed_is_kept(
    product: Product, paulista: BrowserContext
) -> None:
    text = f"Texto {uuid.uuid4().hex[:6]} que não pode se perder"
    page = paulista.new_page()
    log_in(page, product, "operator")
    page.goto(f"{product.base_url}/compose")
    page.get_by_label("Recipients").fill("12345")
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Flash message (shown at once, not stored)").check()
    page.get_by_role("button", name="Send", exact=True).click()
    # With or without a default country, the refusal names the number typed.
    expect(page.locator("#compose-error")).to_contain_text("“12345”")
    expect(page.get_by_label("Recipients")).to_have_value("12345")
    expect(page.get_by_label("Message", exact=True)).to_have_value(text)
    expect(page.get_by_label("Flash message (shown at once, not stored)")).to_be_checked()
    page.goto(f"{product.base_url}/outbox?q={text.split()[1]}")
    expect(page.locator("tr[data-message-id]")).to_have_count(0)
