"""The client accounts pages in Chromium: an admin creates an account, sets its limits, networks,
modems and SMPP credentials, sees them listed, and revokes it; the page speaks Brazilian
Portuguese; operators do not see the menu entry and are refused the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import Product, log_in, new_context, save_screenshot

pytestmark = pytest.mark.browser


def test_admin_manages_an_account(product: Product, context: BrowserContext) -> None:
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, product, "chief")
    page.get_by_role("link", name="Client accounts").click()
    expect(page.locator("h1")).to_have_text("Client accounts")
    expect(page.locator('tr[data-account="default"]')).to_be_visible()

    page.get_by_label("Name").fill("portal")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("h1")).to_have_text("Client account portal")

    page.get_by_label("Messages per second").fill("5")
    page.get_by_label("Daily quota").fill("1000")
    page.get_by_label("Allowed networks").fill("10.0.0.0/8\n192.168.1.0/24")
    page.get_by_label("Allowed modems").fill("sim0")
    page.get_by_label("SMPP system_id").fill("portal01")
    page.get_by_label("New SMPP password").fill("pw123456")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_contain_text("Saved.")
    expect(page.locator("#smpp-state")).to_contain_text("SMPP binds are possible")
    expect(page.locator("#usage")).to_contain_text("Today: 0 messages")
    expect(page.get_by_label("Allowed networks")).to_have_value("10.0.0.0/8\n192.168.1.0/24")
    assert page.get_by_label("New SMPP password").input_value() == ""
    save_screenshot(page, "account-edit")

    page.get_by_label("New SMPP password").fill("123456789")  # maxlength stops the 9th
    assert page.get_by_label("New SMPP password").input_value() == "12345678"

    page.goto(f"{product.base_url}/admin/accounts")
    row = page.locator('tr[data-account="portal"]')
    expect(row).to_contain_text("portal01")
    expect(row).to_contain_text("0 / 1000")
    row.get_by_role("link", name="portal").click()
    page.get_by_role("button", name="Revoke account").click()
    expect(page.locator('tr[data-account="portal"]')).to_contain_text("revoked")
    listed = product.run("webui", "list-smpp-accounts")
    assert "portal01" in listed and "revoked" in listed


def test_the_page_in_portuguese_and_closed_to_operators(
    product: Product, browser: Browser, context: BrowserContext
) -> None:
    portuguese = new_context(browser, language="pt-BR")
    try:
        page = portuguese.new_page()
        log_in(page, product, "chief")
        page.goto(f"{product.base_url}/admin/accounts")
        expect(page.locator("h1")).to_have_text("Contas de clientes")
        expect(page.get_by_role("button", name="Criar conta")).to_be_visible()
    finally:
        portuguese.close()

    page = context.new_page()
    log_in(page, product, "operator")
    assert page.get_by_role("link", name="Client accounts").count() == 0
    assert page.request.get(f"{product.base_url}/admin/accounts").status == 403
    assert page.request.get(f"{product.base_url}/api/v1/accounts").status == 403
