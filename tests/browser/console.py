"""What the console's browser tests share: the product's database opened beside it (to stage a
state a browser cannot make happen on demand: a message whose outcome is unknown, a modem in
error, old webhook deliveries), API calls made with the page's own session, waiting for a
condition a reload must reveal, and screenshots named by language and width."""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import ARTIFACTS, Product, log_in, new_context

SHOTS = ARTIFACTS / "console"
FIRST_MODEM_NUMBER = "+5511990000001"


def database(product: Product) -> Path:
    url = product.env["SMSGW_DATABASE_URL"]
    return Path(url.removeprefix("sqlite:///"))


def sql(product: Product, statement: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run one statement on the product's SQLite file (WAL: gatewayd keeps running)."""
    with closing(sqlite3.connect(database(product), timeout=30)) as conn:
        rows = conn.execute(statement, args).fetchall()
        conn.commit()
    return rows


def api(page: Page, product: Product, method: str, path: str, **body: Any) -> Any:
    """A JSON API call with the page's session and CSRF token; the answer's JSON."""
    csrf = page.locator("body").get_attribute("data-csrf") or ""
    answer = page.request.fetch(
        f"{product.base_url}{path}",
        method=method,
        data=body or None,
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status < 300, (path, answer.status, answer.text())
    return answer.json()


def eventually(page: Page, check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Reload ``page`` until ``check()`` holds (what only a new page shows), or fail."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not reached on {page.url}"
        page.wait_for_timeout(250)
        page.reload()


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot in test-artifacts/console/ (the name says language and width)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000
    return path


@contextmanager
def signed_in(
    browser: Browser, product: Product, user: str, *, language: str = "en-US", phone: bool = False
) -> Iterator[tuple[BrowserContext, Page]]:
    """``user`` signed in, the menu's language set to ``language`` for the test (another test
    may have stored a choice that outranks the browser's) and back to "browser" after."""
    context = new_context(browser, language=language, phone=phone)
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        log_in(page, product, user)
        choose_language(page, product, "pt_BR" if language.startswith("pt") else "en")
        page.reload()
        yield context, page
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


def unique_number() -> str:
    """A Brazilian mobile number nobody else in the run uses (+55 11 9xxxx-xxxx)."""
    return f"+55119{secrets.randbelow(10**8):08d}"


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport + 1, f"{page.url} scrolls sideways: {width} > {viewport}"
