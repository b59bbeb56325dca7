"""Forgiving input and the smaller rough edges, as an operator meets them in Chromium, in
English on a desktop and Brazilian Portuguese on a phone: numbers written with spaces and dashes
are one number; a number without country code is refused with the reason and kept in the
field; the admin is asked for the default country and the same number is then taken; a send
time in the past is refused; error pages stay inside the page frame; USSD ends on the modem's
page; a modem in error shows no bars; timelines show seconds; the phone menu opens from the
keyboard; "home network" reads as "rede de origem"."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import SECOND_MODEM_NUMBER, Product
from tests.browser.console import (
    eventually,
    no_sideways_scroll,
    shot,
    signed_in,
    sql,
    unique_number,
)

pytestmark = pytest.mark.browser


def spaced(number: str) -> str:
    """``+5511987654321`` as people write it: ``+55 11 98765-4321``."""
    return f"{number[:3]} {number[3:5]} {number[5:10]}-{number[10:]}"


def national(number: str) -> str:
    """``+5511987654321`` without its country code: ``11 98765-4321``."""
    return f"{number[3:5]} {number[5:10]}-{number[10:]}"


def test_numbers_as_people_write_them_and_the_default_country(
    product: Product, browser: Browser
) -> None:
    sql(product, "DELETE FROM web_settings WHERE name = 'default_region'")
    number = unique_number()
    with (
        signed_in(browser, product, "chief") as (_, admin),
        signed_in(browser, product, "operator", language="pt-BR", phone=True) as (_, page),
    ):
        # First run (no default country anywhere): the admin's dashboard asks for it.
        eventually(admin, lambda: admin.locator("#ask-country").count() > 0)
        shot(admin, "dashboard-asks-country-en-US-desktop")

        page.goto(f"{product.base_url}/contacts")
        page.locator("#contact-name").fill("Dora Lima")
        page.locator("#contact-number").fill(national(number))
        page.locator("#contact-add button").click()
        expect(page.locator("#contacts-error")).to_have_text(
            f"“{national(number)}” não tem código do país: escreva com + e o código do país "
            "(como +55 11 98765-4321), ou defina o país padrão."
        )
        expect(page.locator("#contact-number")).to_have_value(national(number))
        expect(page.locator("#contact-name")).to_have_value("Dora Lima")
        no_sideways_scroll(page)
        shot(page, "contacts-number-refused-pt-BR-phone")

        admin.locator("#default_region").select_option("BR")
        admin.locator("#country-form button").click()
        expect(admin.locator(".notice-ok")).to_have_text(
            "Numbers without + are now read as numbers of Brazil (+55)."
        )
        expect(admin.locator("#ask-country")).to_have_count(0)

        page.locator("#contact-add button").click()  # the same values, still in the form
        expect(page.locator(".notice-ok")).to_have_text("Contato salvo.", timeout=10_000)
        row = page.locator("#contact-list li", has_text="Dora Lima")
        expect(row.locator(".contact-number")).to_have_text(number)

        # Compose: spaces and dashes are part of a number; commas, semicolons and lines
        # separate them.
        page.goto(f"{product.base_url}/compose")
        expect(page.locator("#recipients-hint")).to_contain_text("números de Brasil")
        page.locator("#to").fill(spaced(SECOND_MODEM_NUMBER))
        page.locator("#text").fill("um número com espaços")
        page.locator("#send-button").click()
        page.wait_for_url(re.compile(r"/outbox/\d+$"))
        expect(page.locator("h1")).to_contain_text(SECOND_MODEM_NUMBER)

        other = unique_number()
        page.goto(f"{product.base_url}/compose")
        page.locator("#to").fill(f"{spaced(SECOND_MODEM_NUMBER)}; {national(other)}\n{number}")
        page.locator("#text").fill("três de uma vez")
        page.locator("#send-button").click()
        page.wait_for_url(re.compile(r"/outbox\?batch=\d+$"))
        expect(page.locator("#outbox-table tbody tr")).to_have_count(3)
        expect(page.locator("#outbox-table .contact-name")).to_have_text(["Dora Lima"])


def test_a_send_time_in_the_past_is_refused_with_what_was_typed(
    product: Product, browser: Browser
) -> None:
    past = (datetime.now() - timedelta(hours=2)).replace(second=0, microsecond=0)
    with signed_in(browser, product, "operator") as (_, page):
        page.goto(f"{product.base_url}/compose")
        page.locator("#to").fill(SECOND_MODEM_NUMBER)
        page.locator("#text").fill("ontem")
        page.locator("#send_at").fill(past.isoformat("T", "minutes"))
        page.locator("#send-button").click()
        expect(page.locator("#compose-error")).to_have_text(
            "The scheduled time is in the past: leave it empty to send now."
        )
        expect(page.locator("#send_at")).to_have_value(past.isoformat("T", "minutes"))
        expect(page.locator("#text")).to_have_value("ontem")


@pytest.mark.parametrize(("language", "phone"), [("en-US", False), ("pt-BR", True)])
def test_error_pages_stay_inside_the_page_frame(
    product: Product, browser: Browser, language: str, phone: bool
) -> None:
    with signed_in(browser, product, "viewer", language=language, phone=phone) as (_, page):
        for path in ("/inbox/abc", "/no-such-page", "/outbox/999999999", "/compose"):
            answer = page.goto(f"{product.base_url}{path}")
            assert answer is not None
            expected = 403 if path == "/compose" else 404
            assert answer.status == expected, path
            expect(page.locator("#error-page")).to_have_attribute("data-status", str(expected))
            expect(page.locator("nav.sidebar")).to_have_count(1)
            expect(page.locator("html")).to_have_attribute("lang", language.replace("en-US", "en"))
        expect(page.locator("#error-page h1")).to_have_text(
            "Not allowed" if language == "en-US" else "Não permitido"
        )
        shot(page, f"error-page-{language}-{'phone' if phone else 'desktop'}")


def test_ussd_ends_on_the_modem_page_and_a_modem_in_error_shows_no_bars(
    product: Product, browser: Browser
) -> None:
    with signed_in(browser, product, "operator", language="pt-BR") as (_, page):
        modems = page.request.get(f"{product.base_url}/api/v1/modems").json()["modems"]
        name = modems[0]["name"]
        page.goto(f"{product.base_url}/modems/{name}")
        page.locator("#code").fill("*100#")
        page.locator("#ussd-form button").click()
        expect(page.locator("#ussd-answer")).to_contain_text("Saldo: R$ 12,34", timeout=30_000)
        assert page.url == f"{product.base_url}/modems/{name}#ussd"
        page.reload()
        expect(page.locator("#ussd-answer")).to_have_count(0)  # shown once, not sent again
        expect(page.locator(".modem-card [data-field='registration']")).to_have_text(
            "rede de origem"
        )

        sql(
            product,
            "INSERT INTO modems (name, host, device, state, signal_dbm, error, updated_at)"
            " VALUES ('broken', 'elsewhere', '/dev/null', 'error', -60, 'port vanished',"
            " CURRENT_TIMESTAMP)",
        )
        try:
            page.goto(f"{product.base_url}/modems")
            card = page.locator('[data-modem="broken"]')
            expect(card.locator("[data-signal]")).to_have_attribute("data-bars", "0")
            expect(card.locator(".signal-text")).to_have_text("—")
            healthy = page.locator(f'[data-modem="{name}"] [data-signal]')
            assert healthy.get_attribute("data-bars") != "0"
            shot(page, "modems-error-no-bars-pt-BR-desktop")
        finally:
            sql(product, "DELETE FROM modems WHERE name = 'broken'")


def test_timelines_show_seconds(product: Product, browser: Browser) -> None:
    with signed_in(browser, product, "operator") as (_, page):
        page.goto(f"{product.base_url}/compose")
        page.locator("#to").fill(SECOND_MODEM_NUMBER)
        page.locator("#text").fill("seconds matter")
        page.locator("#send-button").click()
        page.wait_for_url(re.compile(r"/outbox/\d+$"))
        expect(page.locator("#message-status [data-status]")).to_have_attribute(
            "data-status", "delivered", timeout=30_000
        )
        times = page.locator("#timeline time").all_inner_texts()
        assert times and all(re.search(r"\d:\d\d:\d\d", t) for t in times), times


def test_the_phone_menu_opens_from_the_keyboard(product: Product, browser: Browser) -> None:
    with signed_in(browser, product, "operator", language="pt-BR", phone=True) as (_, page):
        page.goto(f"{product.base_url}/outbox")
        sidebar = page.locator("nav.sidebar")
        expect(sidebar).not_to_be_visible()
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id")
        assert focused == "nav-toggle", focused
        expect(page.locator("#nav-toggle")).to_have_attribute("aria-label", "Menu")
        page.keyboard.press("Space")
        expect(sidebar).to_be_visible()
        expect(page.locator("#nav-toggle")).to_have_attribute("aria-expanded", "true")
        shot(page, "menu-open-from-keyboard-pt-BR-phone")
        page.keyboard.press("Escape")
        expect(sidebar).not_to_be_visible()
        page.keyboard.press("Enter")
        expect(sidebar).to_be_visible()
