"""Who may do what, seen from a browser: viewers cannot send, wrong passwords refuse a name to
an address, and the pages speak Brazilian Portuguese by browser language or by the user's choice."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import PASSWORD, SECOND_MODEM_NUMBER, Product, log_in, new_context

pytestmark = pytest.mark.browser


def test_viewer_sees_no_send_controls_and_forged_posts_are_refused(
    product: Product, context: BrowserContext
) -> None:
    page = context.new_page()
    log_in(page, product, "viewer")
    expect(page.locator("h1")).to_have_text("Dashboard")
    assert page.locator("#nav-compose").count() == 0
    assert page.locator("#compose-button").count() == 0
    page.goto(f"{product.base_url}/outbox")
    assert page.get_by_role("link", name="New message").count() == 0

    csrf = page.locator("body").get_attribute("data-csrf")
    assert csrf
    refused_page = page.request.get(f"{product.base_url}/compose")
    assert refused_page.status == 403
    forged_form = page.request.post(
        f"{product.base_url}/compose",
        form={"csrf_token": csrf, "to": SECOND_MODEM_NUMBER, "text": "not allowed"},
    )
    assert forged_form.status == 403
    forged_api = page.request.post(
        f"{product.base_url}/api/v1/messages",
        data={"to": SECOND_MODEM_NUMBER, "text": "not allowed"},
        headers={"X-CSRF-Token": csrf},
    )
    assert forged_api.status == 403
    page.goto(f"{product.base_url}/outbox?q=not+allowed")
    expect(page.locator(".empty")).to_be_visible()


def test_five_wrong_passwords_refuse_that_name_from_this_address(
    product: Product, context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto(f"{product.base_url}/login")
    for _ in range(5):
        page.get_by_label("User name").fill("locky")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#login-error")).to_have_text("Wrong user name or password.")
    page.get_by_label("User name").fill("locky")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_contain_text("Too many failed attempts")
    assert page.url.endswith("/login")


def test_portuguese_from_the_browser_language(product: Product, browser: Browser) -> None:
    context = new_context(browser, language="pt-BR")
    try:
        page = context.new_page()
        page.goto(f"{product.base_url}/login")
        expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
        expect(page.get_by_role("button", name="Entrar")).to_be_visible()
        expect(page.get_by_label("Senha")).to_be_visible()
        log_in(page, product, "operator")
        expect(page.locator("h1")).to_have_text("Painel")
        expect(page.locator(".sidebar")).to_contain_text("Escrever")
        expect(page.locator(".sidebar")).to_contain_text("Recebidas")
        expect(page.locator("#summary")).to_contain_text("na fila")
        page.goto(f"{product.base_url}/compose")
        expect(page.locator("h1")).to_have_text("Nova mensagem")
        expect(page.get_by_label("Destinatários")).to_be_visible()
        expect(page.locator("#counter")).to_contain_text("restantes nesta parte")
    finally:
        context.close()


def test_portuguese_by_the_users_own_choice(product: Product, context: BrowserContext) -> None:
    page = context.new_page()
    log_in(page, product, "chief")
    expect(page.locator("h1")).to_have_text("Dashboard")
    page.locator("#language").select_option("pt_BR")
    expect(page.locator("h1")).to_have_text("Painel")
    page.goto(f"{product.base_url}/admin/users")
    expect(page.locator("h1")).to_have_text("Usuários")
    page.locator("#language").select_option("en")
    expect(page.locator("h1")).to_have_text("Users")
    # Back to following the browser: later tests read chief's pages in their own language.
    with page.expect_navigation():
        page.locator("#language").select_option("auto")
    expect(page.locator("h1")).to_have_text("Users")
