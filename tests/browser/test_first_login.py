"""The first minute of ``gatewayd run --web``: the generated admin password printed on stdout
signs in, the browser is held at the password form until the admin chooses their own, and then
the dashboard opens; the old password no longer works."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import Product, save_screenshot

pytestmark = pytest.mark.browser

FIRST_ADMIN_LINE = re.compile(r"first admin account: (\S+) / (\S+)")
CHOSEN = "my own admin passphrase"


def first_admin(product: Product) -> tuple[str, str]:
    found = FIRST_ADMIN_LINE.search(product.log())
    assert found is not None, product.log()
    return found.group(1), found.group(2)


def test_first_admin_must_choose_a_password_then_reaches_the_dashboard(
    product: Product, context: BrowserContext
) -> None:
    username, generated = first_admin(product)
    page = context.new_page()
    page.goto(f"{product.base_url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(generated)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/account"))
    expect(page.locator("h1")).to_have_text(f"Welcome, {username}")
    save_screenshot(page, "first-login-password")

    page.goto(f"{product.base_url}/outbox")
    page.wait_for_url(re.compile(r"/account\?next="))

    page.get_by_label("Current password").fill(generated)
    page.get_by_label("New password", exact=True).fill(CHOSEN)
    page.get_by_label("Repeat the new password").fill(CHOSEN + "!")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#password-error")).to_contain_text("confirmation differ")

    page.get_by_label("Current password").fill(generated)
    page.get_by_label("New password", exact=True).fill(CHOSEN)
    page.get_by_label("Repeat the new password").fill(CHOSEN)
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(f"{product.base_url}/outbox")
    expect(page.locator(".notice-ok")).to_contain_text("Your password was changed")
    page.goto(f"{product.base_url}/")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.get_by_role("link", name="Users")).to_be_visible()

    other = context.browser.new_context() if context.browser else None
    assert other is not None
    try:
        second = other.new_page()
        second.goto(f"{product.base_url}/login")
        second.get_by_label("User name").fill(username)
        second.get_by_label("Password").fill(generated)
        second.get_by_role("button", name="Sign in").click()
        expect(second.locator("#login-error")).to_have_text("Wrong user name or password.")
    finally:
        other.close()
