"""Every operator page as a person sees it: English on a desktop, Brazilian Portuguese on a
phone (and the other way round), with real traffic on the simulated modems. Each page must
load, show its heading, and fit the phone's width without sideways scrolling; screenshots of
each land in test-artifacts/review/ for a human look."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    ARTIFACTS,
    SECOND_MODEM_NUMBER,
    Product,
    log_in,
    new_context,
)

pytestmark = pytest.mark.browser

REVIEW = ARTIFACTS / "review"
OUTSIDE_NUMBER = "+5511987650001"
FIRST_MODEM_NUMBER = "+5511990000001"


def pages(message_id: int, modem: str) -> dict[str, str]:
    return {
        "dashboard": "/",
        "compose": "/compose",
        "outbox": "/outbox",
        "message": f"/outbox/{message_id}",
        "inbox": "/inbox",
        "thread": f"/inbox/{FIRST_MODEM_NUMBER.replace('+', '%2B')}",
        "modems": "/modems",
        "modem": f"/modems/{modem}",
        "hosts": "/hosts",
        "contacts": "/contacts",
        "users": "/admin/users",
        "keys": "/admin/api-keys",
        "webhooks": "/admin/webhooks",
        "audit": "/admin/audit",
        "settings": "/admin/settings",
        "account": "/account",
    }


@pytest.fixture(scope="module")
def traffic(product: Product, browser: Browser) -> Iterator[tuple[int, str]]:
    """Two messages (one delivered to the second simulated modem, so it is in the inbox too)
    and an API key; the first message's id and a modem's name."""
    context = new_context(browser)
    try:
        page = context.new_page()
        log_in(page, product, "chief")
        csrf = page.locator("body").get_attribute("data-csrf") or ""
        sent = []
        for to, text in (
            (SECOND_MODEM_NUMBER, "Olá! Sua fatura vence amanhã."),
            (OUTSIDE_NUMBER, "Reminder: meeting at 10:00 in room 4"),
        ):
            answer = page.request.post(
                f"{product.base_url}/api/v1/messages",
                data={"to": to, "text": text},
                headers={"X-CSRF-Token": csrf},
            )
            assert answer.status == 202, answer.text()
            sent.append(answer.json()["id"])
        page.goto(f"{product.base_url}/admin/api-keys")
        page.get_by_label("Name").fill("monitoring")
        page.get_by_role("button", name="Create key").click()
        expect(page.locator("#new-key")).to_be_visible()
        page.goto(f"{product.base_url}/outbox/{sent[0]}")
        expect(page.locator("#message-status [data-status]")).to_have_attribute(
            "data-status", "delivered", timeout=30_000
        )
        modems = page.request.get(f"{product.base_url}/api/v1/modems").json()["modems"]
        yield sent[0], modems[0]["name"]
    finally:
        context.close()


@contextmanager
def signed_in(
    browser: Browser, product: Product, language: str, phone: bool = False
) -> Iterator[Page]:
    """chief signed in with ``language`` chosen in the menu (other tests may have stored a
    choice that outranks the browser's); back to "browser language" afterwards."""
    context = new_context(browser, language=language, phone=phone)
    try:
        page = context.new_page()
        log_in(page, product, "chief")
        choose_language(page, product, "pt_BR" if language.startswith("pt") else "en")
        yield page
        choose_language(page, product, "auto")
    finally:
        context.close()


def choose_language(page: Page, product: Product, choice: str) -> None:
    csrf = page.locator("body").get_attribute("data-csrf") or ""
    answer = page.request.post(
        f"{product.base_url}/settings/language",
        form={"csrf_token": csrf, "language": choice, "next": "/"},
    )
    assert answer.ok, answer.status


def fits_width(page: Page) -> bool:
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


def shoot(page: Page, name: str) -> Path:
    REVIEW.mkdir(parents=True, exist_ok=True)
    path = REVIEW / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.mark.parametrize(
    ("language", "phone"),
    [
        ("en-US", False),
        ("pt-BR", True),
        ("pt-BR", False),
        ("en-US", True),
    ],
)
def test_every_page_loads_and_fits(
    product: Product, browser: Browser, traffic: tuple[int, str], language: str, phone: bool
) -> None:
    message_id, modem = traffic
    with signed_in(browser, product, language, phone) as page:
        too_wide = []
        for name, path in pages(message_id, modem).items():
            answer = page.goto(f"{product.base_url}{path}")
            assert answer is not None and answer.ok, (name, answer and answer.status)
            expect(page.locator("h1").first).to_be_visible()
            page.wait_for_load_state("networkidle")
            if phone and not fits_width(page):
                too_wide.append(name)
            shoot(page, f"{name}-{language}-{'phone' if phone else 'desktop'}")
        assert too_wide == []


def test_portuguese_pages_have_no_english_headings(
    product: Product, browser: Browser, traffic: tuple[int, str]
) -> None:
    message_id, modem = traffic
    english = re.compile(
        r"^(Dashboard|Compose|Outbox|Inbox|Users|API keys|"
        r"Audit log|My account|Contacts|Settings)$"
    )
    with signed_in(browser, product, "pt-BR") as page:
        for name, path in pages(message_id, modem).items():
            page.goto(f"{product.base_url}{path}")
            heading = page.locator("h1").first.inner_text().strip()
            assert not english.match(heading), (name, heading)
