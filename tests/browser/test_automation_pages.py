"""The rules and opt-out pages in Chromium: an operator makes a rule from the form and the
"test this message" box answers as they type; an opt-out is added, found and removed; both
pages speak Brazilian Portuguese."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import Product, log_in, new_context, save_screenshot

pytestmark = pytest.mark.browser


def test_rule_made_and_tested_live(product: Product, context: BrowserContext) -> None:
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, product, "operator")
    page.get_by_role("link", name="Rules").click()
    expect(page.locator("h1")).to_have_text("Rules")
    page.get_by_label("Name", exact=True).fill("opening hours")
    page.get_by_label("First word").fill("horário")
    page.get_by_label("Reply with").fill("Open 8-18, {from}")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".notice")).to_contain_text("Rule opening hours saved.")
    expect(page.locator('tr[data-rule="opening hours"]')).to_contain_text("reply")

    page.locator("#test-from").fill("+5511987654321")
    page.locator("#test-text").fill("HORARIO hoje?")
    result = page.locator("#rule-test-result")
    expect(result).to_contain_text("opening hours")
    expect(result).to_contain_text("Open 8-18, +5511987654321")
    page.locator("#test-from").fill("ACME")
    page.locator("#test-text").fill("nothing here")
    expect(result).to_contain_text("No rule matches.")
    expect(result).to_contain_text("short code")
    save_screenshot(page, "rules")

    page.get_by_label("Name", exact=True).fill("slow")
    page.get_by_label("Regular expression").fill("(a|aa)+$")
    page.get_by_label("Tag").fill("x")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".notice")).to_contain_text("backtracks too much")

    row = page.locator('tr[data-rule="opening hours"]')
    row.get_by_role("button", name="Delete").click()
    expect(page.locator('tr[data-rule="opening hours"]')).to_have_count(0)


def test_opt_out_added_found_removed(product: Product, context: BrowserContext) -> None:
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, product, "operator")
    page.get_by_role("link", name="Opt-outs").click()
    expect(page.locator("h1")).to_have_text("Opt-outs")
    page.get_by_label("Number or prefix").fill("+5511987651234")
    page.get_by_label("Note", exact=True).fill("asked by phone")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".notice")).to_contain_text("+5511987651234 added.")
    page.get_by_label("Search").fill("phone")
    page.get_by_role("button", name="Search").click()
    expect(page.locator('tr[data-number="+5511987651234"]')).to_be_visible()
    save_screenshot(page, "optouts")
    page.locator('tr[data-number="+5511987651234"]').get_by_role("button", name="Remove").click()
    expect(page.locator(".notice")).to_contain_text("removed.")
    expect(page.locator('tr[data-number="+5511987651234"]')).to_have_count(0)


def test_both_pages_in_portuguese(product: Product, browser: Browser) -> None:
    portuguese = new_context(browser, language="pt-BR")
    try:
        page = portuguese.new_page()
        log_in(page, product, "operator")
        page.goto(f"{product.base_url}/rules")
        expect(page.locator("h1")).to_have_text("Regras")
        expect(page.get_by_role("button", name="Salvar regra")).to_be_visible()
        page.locator("#test-text").fill("qualquer coisa")
        expect(page.locator("#rule-test-result")).to_contain_text("Nenhuma regra corresponde.")
        page.goto(f"{product.base_url}/optouts")
        expect(page.locator("h1")).to_have_text("Descadastros")
        expect(page.get_by_role("link", name="Exportar CSV")).to_be_visible()
    finally:
        portuguese.close()


def test_recurring_send_made_paused_and_in_portuguese(
    product: Product, browser: Browser, context: BrowserContext
) -> None:
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, product, "operator")
    page.get_by_role("link", name="Recurring").click()
    expect(page.locator("h1")).to_have_text("Recurring sends")
    page.get_by_label("Name", exact=True).fill("weekday news")
    page.get_by_label("Message").fill("Bom dia")
    page.get_by_label("Numbers").fill("+5511987651111")
    page.get_by_label("Repeat").select_option("cron")
    page.get_by_label("Cron (minute hour day month weekday)").fill("0 9 * * 1-5")
    page.get_by_role("button", name="Save recurring send").click()
    expect(page.locator(".notice")).to_contain_text("Recurring send weekday news saved.")
    row = page.locator('tr[data-recurring="weekday news"]')
    expect(row.locator(".next-runs div")).to_have_count(5)
    save_screenshot(page, "recurring")
    row.get_by_role("button", name="Pause").click()
    expect(page.locator('tr[data-recurring="weekday news"]')).to_contain_text("paused")

    portuguese = new_context(browser, language="pt-BR")
    try:
        pt = portuguese.new_page()
        log_in(pt, product, "operator")
        pt.goto(f"{product.base_url}/recurring")
        expect(pt.locator("h1")).to_have_text("Envios recorrentes")
        expect(pt.locator('tr[data-recurring="weekday news"]')).to_contain_text("pausado")
        expect(pt.get_by_role("button", name="Retomar")).to_be_visible()
    finally:
        portuguese.close()
