"""Two-factor sign-in in Chromium: set up from My account (QR code, key, one code from the app),
recovery codes shown once, then sign-ins that ask for a code after the password — a TOTP code,
then a recovery code — in English and in Portuguese."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PASSWORD, Product, log_in, new_context, save_screenshot


def sign_out(page: Page) -> None:
    page.locator('form[action="/logout"] button').first.click()
    page.wait_for_url(re.compile(r"/login"))


def password_step(page: Page, product: Product, username: str) -> None:
    page.goto(f"{product.base_url}/login")
    page.get_by_label(re.compile("User name|Usuário")).fill(username)
    page.get_by_label(re.compile("Password|Senha")).fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{product.base_url}/login/code")


def test_set_up_and_sign_in_with_a_code_then_a_recovery_code(
    product: Product, context: BrowserContext, browser: Browser
) -> None:
    product.run("webui", "create-user", "twofa", "--role", "operator", stdin=PASSWORD + "\n")
    page = context.new_page()
    log_in(page, product, "twofa")
    page.goto(f"{product.base_url}/account")
    expect(page.locator("#two-factor-state")).to_contain_text("off")
    page.locator("#two-factor-link").click()
    expect(page.locator("img.qr-code")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill("123456" if totp.now() != "123456" else "654321")
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#two-factor-error")).to_contain_text("not right")
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    recovery = codes.first.inner_text().strip()
    save_screenshot(page, "two-factor-recovery-codes")
    page.locator("#two-factor-continue").click()
    sign_out(page)

    password_step(page, product, "twofa")
    page.get_by_label("Code").fill(totp.at(time.time() + 30))  # this step's code was spent
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{product.base_url}/")
    sign_out(page)

    password_step(page, product, "twofa")
    page.get_by_label("Code").fill(recovery)
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{product.base_url}/")
    page.goto(f"{product.base_url}/account/two-factor")
    expect(page.locator("#codes-left")).to_have_text("9")
    sign_out(page)

    portuguese = new_context(browser, language="pt-BR")
    try:
        page = portuguese.new_page()
        password_step(page, product, "twofa")
        expect(page.locator("h1")).to_have_text("Código de acesso")
        page.get_by_label("Código").fill(recovery)
        page.get_by_role("button", name="Verificar").click()
        expect(page.locator("#login-error")).to_have_text("Código errado.")
    finally:
        portuguese.close()
