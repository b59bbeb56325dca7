"""The alerts page and banner in Chromium: an admin saves settings and an absurd threshold is
refused; a disk alert raised by the running product appears in the banner of an open page
without a reload and leaves it when cleared; SMS text in an alert is shown as text (no script
runs); the page and banner in Brazilian Portuguese and at phone width."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import Product, log_in, new_context, save_screenshot

pytestmark = pytest.mark.browser
RAISE_TIMEOUT = 40_000
"""Milliseconds for the product's evaluator (every 15 s) to raise or clear an alert."""


def set_disk_threshold(page: Page, product: Product, percent: str) -> None:
    page.goto(f"{product.base_url}/admin/alerts")
    page.locator("#disk_full-threshold").fill(percent)
    page.get_by_role("button", name="Save alert settings").click()
    expect(page.locator(".notice")).to_contain_text("Alert settings saved.")


@pytest.fixture
def hostile_alert(product: Product) -> Iterator[None]:
    detail = {
        "count": 1,
        "window": 3600,
        "last_id": 1,
        "last_to": "+5511987654321",
        "last_error": '<img src=x onerror="alert(1)">',
        "last_text": "</li></ul><script>alert(2)</script>",
    }
    with sqlite3.connect(product.workdir / "gateway.db", timeout=30) as db:
        db.execute(
            "INSERT INTO alert_states (kind, subject, active, raised_at, text, detail, version,"
            " updated_at) VALUES ('message_failed', 'browser-test', 1, CURRENT_TIMESTAMP,"
            " 'x', ?, 0, CURRENT_TIMESTAMP)",
            (json.dumps(detail),),
        )
    try:
        yield
    finally:
        with sqlite3.connect(product.workdir / "gateway.db", timeout=30) as db:
            db.execute("DELETE FROM alert_states WHERE subject = 'browser-test'")


def test_settings_saved_and_absurd_values_refused(
    product: Product, context: BrowserContext
) -> None:
    page = context.new_page()
    log_in(page, product, "chief")
    page.get_by_role("link", name="Alerts").click()
    expect(page.locator("h1")).to_have_text("Alerts")
    page.get_by_label("Email addresses").fill("ops@example.com, noc@example.com")
    page.locator("#modem_offline-threshold").fill("120")
    page.get_by_role("button", name="Save alert settings").click()
    expect(page.locator(".notice")).to_contain_text("Alert settings saved.")
    expect(page.get_by_label("Email addresses")).to_have_value("ops@example.com, noc@example.com")
    expect(page.locator("#modem_offline-threshold")).to_have_value("120")
    page.locator("#disk_full-threshold").fill("250")
    page.get_by_role("button", name="Save alert settings").click()
    expect(page.locator(".notice-error")).to_contain_text("kinds.disk_full.threshold")
    expect(page.locator("#disk_full-threshold")).to_have_value("90")
    save_screenshot(page, "alerts")


def test_operators_have_no_alert_settings(product: Product, context: BrowserContext) -> None:
    page = context.new_page()
    log_in(page, product, "operator")
    expect(page.get_by_role("link", name="Alerts")).to_have_count(0)
    response = page.goto(f"{product.base_url}/admin/alerts")
    assert response is not None and response.status == 403


def test_a_raised_alert_appears_live_and_leaves_when_cleared(
    product: Product, context: BrowserContext
) -> None:
    admin = context.new_page()
    log_in(admin, product, "chief")
    watcher = context.new_page()
    watcher.goto(f"{product.base_url}/outbox")
    expect(watcher.locator("body")).to_have_attribute("data-live", "open")
    banner = watcher.locator('#alert-banner [data-alert-kind="disk_full"]')
    expect(banner).to_have_count(0)
    set_disk_threshold(admin, product, "1")
    expect(banner).to_contain_text("Disk nearly full", timeout=RAISE_TIMEOUT)
    expect(banner).to_contain_text("% full")
    set_disk_threshold(admin, product, "99")
    expect(banner).to_have_count(0, timeout=RAISE_TIMEOUT)


def test_sms_text_in_an_alert_is_shown_as_text(
    product: Product, context: BrowserContext, hostile_alert: None
) -> None:
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, product, "viewer")
    item = page.locator('#alert-banner [data-alert-subject="browser-test"]')
    expect(item).to_contain_text("<script>alert(2)</script>")
    expect(item).to_contain_text('<img src=x onerror="alert(1)">')
    assert page.locator("#alert-banner img, #alert-banner script").count() == 0
    page.goto(f"{product.base_url}/inbox")
    expect(item).to_be_visible()
    assert dialogs == []


def test_page_and_banner_in_portuguese_at_phone_width(
    product: Product, browser: Browser, hostile_alert: None
) -> None:
    portuguese = new_context(browser, language="pt-BR", phone=True)
    try:
        page = portuguese.new_page()
        log_in(page, product, "chief")
        expect(page.locator("#alert-banner")).to_contain_text("alerta")
        expect(page.locator("#alert-banner")).to_contain_text("Mensagens com falha")
        page.goto(f"{product.base_url}/admin/alerts")
        expect(page.locator("h1")).to_have_text("Alertas")
        expect(page.get_by_role("button", name="Salvar configurações de alertas")).to_be_visible()
        expect(page.locator('fieldset[data-kind="low_credit"] legend')).to_have_text(
            "Crédito do SIM baixo"
        )
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than the phone"
        save_screenshot(page, "alerts-pt-phone")
    finally:
        portuguese.close()
