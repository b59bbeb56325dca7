"""Sending from the compose page and watching it live; receiving into the inbox; untrusted SMS
text shown as text. Also saves screenshots of the main pages under test-artifacts/."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import BrowserContext, Dialog, expect

from tests.browser.conftest import (
    SECOND_MODEM_NUMBER,
    Product,
    log_in,
    new_context,
    save_screenshot,
)

pytestmark = pytest.mark.browser


def test_compose_send_turns_delivered_live_and_arrives_in_inbox(
    product: Product, context: BrowserContext
) -> None:
    text = f"Browser hello {uuid.uuid4().hex[:8]} with € and [brackets]"
    inbox = context.new_page()
    log_in(inbox, product, "operator")
    inbox.goto(f"{product.base_url}/inbox")
    expect(inbox.locator("#live-dot")).to_have_attribute("data-state", "open")
    inbox.evaluate("window.__notReloaded = true")

    page = context.new_page()
    page.goto(f"{product.base_url}/compose")
    page.get_by_label("Recipients").fill(SECOND_MODEM_NUMBER)
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(re.compile(r"/outbox/\d+$"))
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#message-status [data-status]")).to_have_attribute(
        "data-status", "delivered", timeout=30_000
    )
    expect(page.locator("#timeline")).to_contain_text("delivered")
    expect(page.locator("#timeline")).to_contain_text("sent")
    assert page.evaluate("window.__notReloaded") is True

    # The inbox tab saw the message arrive at the second modem without a reload.
    expect(inbox.locator("#threads .thread-text", has_text=text)).to_be_visible(timeout=30_000)
    assert inbox.evaluate("window.__notReloaded") is True

    page.goto(f"{product.base_url}/outbox")
    row = page.locator("#outbox-table tr", has_text=text[:40])
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "delivered")


def test_outbox_row_changes_status_without_reload(
    product: Product, context: BrowserContext
) -> None:
    page = context.new_page()
    log_in(page, product, "operator")
    message_id = product.run(
        "gatewayd", "send", "--to", SECOND_MODEM_NUMBER, "--text", "watched from the outbox"
    ).strip()
    page.goto(f"{product.base_url}/outbox")
    expect(page.locator("#live-dot")).to_have_attribute("data-state", "open")
    page.evaluate("window.__notReloaded = true")
    badge = page.locator(f'tr[data-message-id="{message_id}"] [data-status]')
    expect(badge).to_have_attribute("data-status", "delivered", timeout=30_000)
    assert page.evaluate("window.__notReloaded") is True


def test_incoming_script_text_is_shown_as_text(product: Product, context: BrowserContext) -> None:
    hostile = "<script>alert(1)</script>"
    dialogs: list[str] = []
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, product, "operator")
    page.goto(f"{product.base_url}/inbox")
    expect(page.locator("#live-dot")).to_have_attribute("data-state", "open")
    product.run("gatewayd", "send", "--to", SECOND_MODEM_NUMBER, "--text", hostile)

    live_row = page.locator("#threads .thread-text", has_text=hostile)
    expect(live_row).to_be_visible(timeout=30_000)
    page.goto(f"{product.base_url}/inbox")
    expect(page.locator("#threads .thread-text", has_text=hostile).first).to_have_text(hostile)
    page.locator("#threads .thread", has_text=hostile).first.click()
    bubble = page.locator(".bubble.in .bubble-text", has_text=hostile).first
    expect(bubble).to_have_text(hostile)
    assert page.locator("#conversation script").count() == 0
    assert page.locator("#threads script, main script").count() == 0
    assert dialogs == []


def _noop(dialog: Dialog) -> None:
    dialog.dismiss()


def test_screenshots_of_dashboard_and_compose(product: Product, browser: object) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    for phone in (False, True):
        context = new_context(browser, phone=phone)
        try:
            page = context.new_page()
            page.on("dialog", _noop)
            log_in(page, product, "chief")
            expect(page.locator("#traffic-chart")).to_be_visible()
            page.wait_for_function("() => window.Chart && Chart.getChart('traffic-chart')")
            suffix = "-phone" if phone else ""
            assert save_screenshot(page, f"dashboard{suffix}").stat().st_size > 10_000
            page.goto(f"{product.base_url}/compose")
            page.get_by_label("Message", exact=True).fill("Olá! Sua fatura vence amanhã 📅")
            expect(page.locator("#counter")).to_have_attribute("data-encoding", "ucs2")
            assert save_screenshot(page, f"compose{suffix}").stat().st_size > 10_000
        finally:
            context.close()
