"""Figures, health and logs an operator can trust, and the admin pages that explain
themselves, in Chromium: every count on the dashboard says its unit, the delivery rate is
shown, the chart has three ranges; a modem's page shows sent, failed and delivery rate today
and this month against the SIM plan an admin sets; ``/api/health`` reports the modems and the
queue; the log has one line per step of a message's life and no slow-request noise from live
streams; the audit log reads in words; the webhook page tells deliveries apart, shows each
error once and in words, offers replay only where it makes sense, and the webhook URL is set
from the API keys page."""

from __future__ import annotations

import json
import re
import secrets

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import SECOND_MODEM_NUMBER, Product
from tests.browser.console import (
    FIRST_MODEM_NUMBER,
    api,
    no_sideways_scroll,
    shot,
    signed_in,
    sql,
)

pytestmark = pytest.mark.browser


def delivered_message(page: Page, product: Product, text: str) -> int:
    sent = api(page, product, "POST", "/api/v1/messages", to=SECOND_MODEM_NUMBER, text=text)
    page.goto(f"{product.base_url}/outbox/{sent['id']}")
    expect(page.locator("#message-status [data-status]")).to_have_attribute(
        "data-status", "delivered", timeout=30_000
    )
    return int(sent["id"])


@pytest.mark.parametrize(("language", "phone"), [("en-US", False), ("pt-BR", True)])
def test_dashboard_counts_say_their_unit_and_the_chart_has_ranges(
    product: Product, browser: Browser, language: str, phone: bool
) -> None:
    with signed_in(browser, product, "chief", language=language, phone=phone) as (_, page):
        delivered_message(page, product, "figures " + "long text " * 20)  # two parts
        page.goto(f"{product.base_url}/")
        summary = page.locator("#summary")
        labels = summary.locator(".stat-label").all_inner_texts()
        word = "messages" if language == "en-US" else "mensagens"
        counted = [label for label in labels if "rate" not in label and "taxa" not in label]
        assert len(counted) == 5 and all(word in label for label in counted), labels
        rate = summary.locator('[data-summary="delivery_rate"]')
        expect(rate).to_have_text(re.compile(r"^\d{1,3}([.,]\d)?\s?%$"))
        card = page.locator(".modem-card").first
        expect(card.locator(".unit").first).to_be_visible()
        units = card.locator(".unit").all_inner_texts()
        parts = "SMS parts" if language == "en-US" else "partes de SMS"
        assert parts in units and word in units, units
        page.wait_for_function("() => window.Chart && Chart.getChart('traffic-chart')")
        page.locator('#chart-range button[data-range="7d"]').click()
        expect(page.locator("#traffic-chart")).to_have_attribute("data-shown", "7d")
        expect(page.locator('#chart-range button[data-range="7d"]')).to_have_attribute(
            "aria-pressed", "true"
        )
        labels_7d = page.evaluate("Chart.getChart('traffic-chart').data.labels.length")
        assert labels_7d == 7
        page.locator('#chart-range button[data-range="30d"]').click()
        expect(page.locator("#traffic-chart")).to_have_attribute("data-shown", "30d")
        assert page.evaluate("Chart.getChart('traffic-chart').data.labels.length") == 30
        if phone:
            no_sideways_scroll(page)
        shot(page, f"dashboard-figures-{language}-{'phone' if phone else 'desktop'}")


def test_a_modem_page_shows_today_and_the_month_against_the_sim_plan(
    product: Product, browser: Browser
) -> None:
    with signed_in(browser, product, "chief", language="pt-BR") as (_, page):
        delivered_message(page, product, "plano do chip")
        modems = page.request.get(f"{product.base_url}/api/v1/modems").json()["modems"]
        # The message went out through one of them: the one whose figures count it.
        name = next(m["name"] for m in modems if m["sent_today"] > 0)
        page.goto(f"{product.base_url}/modems/{name}")
        figures = page.locator("#modem-figures")
        expect(figures).to_contain_text("Taxa de entrega")
        sent_month = int(figures.locator('[data-figure="month_sent"]').inner_text())
        assert sent_month >= 1
        page.locator("#plan-parts").fill("1000")
        page.locator("#plan-form button").click()
        expect(page.locator(".notice-ok")).to_have_text("Plano do chip salvo.")
        expect(page.locator("#plan-use")).to_contain_text("de 1.000 partes de SMS")
        meter = page.locator(".modem-card .plan-meter")
        expect(meter).to_have_attribute("max", "1000")
        shot(page, "modem-figures-plan-pt-BR-desktop")
        # The field asks for digits; the server refuses anything else even without that check.
        page.locator("#plan-parts").evaluate("field => field.removeAttribute('pattern')")
        page.locator("#plan-parts").fill("muitos")
        page.locator("#plan-form button").click()
        expect(page.locator(".notice-error")).to_have_text(
            "Um plano do chip é um número inteiro de SMS por mês."
        )
        expect(page.locator("#plan-parts")).to_have_value("1000")  # unchanged


def log_lines(product: Product) -> list[dict[str, object]]:
    lines = []
    for line in product.log().splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def test_health_and_logs_tell_the_truth(product: Product, browser: Browser) -> None:
    with signed_in(browser, product, "operator") as (_, page):
        page.goto(f"{product.base_url}/inbox")  # a live stream open meanwhile
        expect(page.locator("#live-dot")).to_have_attribute("data-state", "open")
        message_id = delivered_message(page, product, f"log {secrets.token_hex(3)}")
        health = page.request.get(f"{product.base_url}/api/health").json()
        assert health["checks"]["modems"] == "ok" and health["checks"]["queue"] == "ok"
        assert health["status"] == "ok", health
        expect(page.locator(".bubble, #message-status")).not_to_have_count(0)

    def about(event: str) -> list[dict[str, object]]:
        return [
            line
            for line in log_lines(product)
            if line.get("event") == event and line.get("message_id") == message_id
        ]

    [queued] = about("Message queued")
    assert queued["to"] == SECOND_MODEM_NUMBER and queued["level"] == "info"
    [sent] = about("Message sent")
    assert sent["modem"] and isinstance(sent["mr"], int) and sent["part"] == 1
    assert len(about("Message delivered")) == 1
    received = [
        line
        for line in log_lines(product)
        if line.get("event") == "Message received" and line.get("sender") == FIRST_MODEM_NUMBER
    ]
    assert received
    slow = [
        line
        for line in log_lines(product)
        if line.get("event") == "Slow request" and line.get("path") == "/events"
    ]
    assert slow == []


def test_audit_log_and_webhooks_explain_themselves(product: Product, browser: Browser) -> None:
    failed_login = browser.new_context()
    try:
        page = failed_login.new_page()
        page.goto(f"{product.base_url}/login")
        page.get_by_label("User name").fill("chief")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#login-error")).to_be_visible()
    finally:
        failed_login.close()
    tag = secrets.token_hex(3)
    with signed_in(browser, product, "chief") as (_, page):
        page.goto(f"{product.base_url}/admin/api-keys")
        page.get_by_label("Name").fill(f"erp-{tag}")
        page.get_by_role("button", name="Create key").click()
        key_id = int(sql(product, "SELECT id FROM api_keys WHERE name = ?", f"erp-{tag}")[0][0])
        row = page.locator("tr", has=page.locator(f"#webhook-{key_id}"))
        row.locator("summary").click()
        row.locator(f"#webhook-url-{key_id}").fill("http://127.0.0.1:8080/hook")
        row.get_by_role("button", name="Save").click()
        refused = page.locator("tr", has=page.locator(f"#webhook-{key_id}"))
        expect(refused.locator("[role=alert]")).to_contain_text(
            "This address cannot receive webhooks"
        )
        expect(refused.locator(f"#webhook-url-{key_id}")).to_have_value(
            "http://127.0.0.1:8080/hook"
        )
        refused.locator(f"#webhook-url-{key_id}").fill("https://hooks.example.com/sms/in")
        refused.get_by_role("button", name="Save").click()
        expect(page.locator(".notice-ok")).to_have_text("Webhook saved.")
        expect(page.locator(f"#webhook-{key_id}")).to_have_text("https://hooks.example.com/sms/in")

        page.goto(f"{product.base_url}/admin/audit?q=chief")
        refusal = page.locator('#audit-table tr[data-action="login.failed"]').first
        expect(refusal.locator(".audit-who")).to_have_text("nobody signed in")
        expect(refusal.locator(".audit-target")).to_contain_text("user name typed: chief")
        page.goto(f"{product.base_url}/admin/audit?action=api_key.webhook")
        changed = page.locator("#audit-table tbody tr").first
        expect(changed.locator(".audit-target")).to_contain_text(f"API key “erp-{tag}”")
        expect(changed.locator(".audit-details")).to_contain_text("https://hooks.example.com")
        shot(page, "audit-words-en-US-desktop")

        for status, error, code in (
            ("pending", None, None),
            ("failed", "http_status_501", 501),
            ("failed", "ClientConnectorError: Cannot connect to host x:443 ssl:default", None),
            ("delivered", None, 200),
        ):
            sql(
                product,
                "INSERT INTO webhook_deliveries (event, url, payload, status, attempts,"
                " last_error, response_status, created_at, next_attempt_at)"
                " VALUES ('message.status', ?, ?, ?, 1, ?, ?, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)",
                f"https://hooks.example.com/a/very/long/path/{tag}/receiver",
                json.dumps({"status": "delivered", "id": 1}),
                status,
                error,
                code,
            )
        page.goto(f"{product.base_url}/admin/webhooks")
        rows = page.locator("#deliveries tbody tr", has_text=tag)
        expect(rows).to_have_count(4)
        expect(rows.locator(".delivery-event").first).to_contain_text("message.status → delivered")
        pending = page.locator('#deliveries tr[data-status="pending"]', has_text=tag)
        expect(pending.get_by_role("button", name="Replay")).to_have_count(0)
        failed = page.locator('#deliveries tr[data-status="failed"]', has_text=tag)
        texts = failed.all_inner_texts()
        assert sum(text.count("HTTP 501") for text in texts) == 1, texts
        assert not any("ClientConnectorError" in text for text in texts), texts
        expect(failed.locator(".delivery-error")).to_have_text(
            ["failed (see the server log)", "HTTP 501"]  # newest first
        )
        expect(failed.get_by_role("button", name="Replay")).to_have_count(2)
        shot(page, "webhooks-en-US-desktop")

    with signed_in(browser, product, "chief", language="pt-BR", phone=True) as (_, page):
        page.goto(f"{product.base_url}/admin/webhooks")
        no_sideways_scroll(page)
        shot(page, "webhooks-pt-BR-phone")
        page.goto(f"{product.base_url}/admin/audit")
        no_sideways_scroll(page)
        shot(page, "audit-words-pt-BR-phone")
