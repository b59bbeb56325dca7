"""The whole product as a process for browser tests: ``gatewayd run --web --simulate 2`` on a
SQLite file in a temporary directory, users of each role made with ``webui create-user``, and
Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.ports import free_port
from tests.support.tools import require_module, require_program

if TYPE_CHECKING:  # imported when the browser starts, so a missing Playwright fails in one line
    from playwright.sync_api import Browser, BrowserContext, Page

BIN = Path(sys.executable).parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery"
USERS = {"chief": "admin", "operator": "operator", "viewer": "viewer", "locky": "operator"}
SECOND_MODEM_NUMBER = "+5511990000002"
START_TIMEOUT = 30.0


@dataclass
class Product:
    base_url: str
    env: dict[str, str]
    workdir: Path
    process: subprocess.Popen[bytes]

    def run(self, *args: str, stdin: str | None = None) -> str:
        """Run one of the product's commands against the same database; its stdout."""
        done = subprocess.run(
            [str(BIN / args[0]), *args[1:]],
            input=stdin.encode() if stdin is not None else None,
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    def log(self) -> str:
        return (self.workdir / "gatewayd.out").read_text(errors="replace")


def _wait_listening(product: Product) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    pattern = re.compile(r"web UI at http://")
    while time.monotonic() < deadline:
        if product.process.poll() is not None:
            raise AssertionError(f"gatewayd exited early:\n{product.log()}")
        if pattern.search(product.log()):
            return
        time.sleep(0.1)
    raise AssertionError(f"gatewayd did not start its web UI in time:\n{product.log()}")


@pytest.fixture(scope="package")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    workdir = tmp_path_factory.mktemp("product")
    port = free_port()
    env = {
        **os.environ,
        "SMSGW_DATABASE_URL": f"sqlite:///{workdir / 'gateway.db'}",
        "SMSGW_SECRET_KEY": "browser-tests-secret-0123456789-abcdefghijklmnop",
        "SMSGW_LISTEN": f"127.0.0.1:{port}",
        "SMSGW_DATA_DIR": str(workdir / "data"),
        "SMSGW_LOG_LEVEL": "INFO",
    }
    env.pop("SMSGW_CONFIG", None)
    env.pop("SMSGW_REDIS_URL", None)
    subprocess.run(
        [str(BIN / "gatewayd"), "migrate"],
        env=env,
        cwd=workdir,
        check=True,
        capture_output=True,
        timeout=60,
    )
    output = (workdir / "gatewayd.out").open("wb")
    process = subprocess.Popen(
        [str(BIN / "gatewayd"), "run", "--web", "--simulate", "2"],
        env=env,
        cwd=workdir,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    running = Product(f"http://127.0.0.1:{port}", env, workdir, process)
    try:
        _wait_listening(running)
        for name, role in USERS.items():
            running.run("webui", "create-user", name, "--role", role, stdin=PASSWORD + "\n")
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        output.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Package-scoped: Playwright's sync API keeps an event loop running in this thread until
    it stops, which would break every asyncio test collected after the browser tier."""
    chromium = require_program("chromium")
    require_module("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


def new_context(
    browser: Browser, *, language: str = "en-US", phone: bool = False
) -> BrowserContext:
    width, height = (390, 844) if phone else (1280, 860)
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale=language,
        extra_http_headers={"Accept-Language": f"{language},{language.split('-')[0]};q=0.8"},
    )
    context.set_default_timeout(15_000)
    return context


def log_in(page: Page, product: Product, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{product.base_url}/login")
    page.get_by_label(re.compile("User name|Usuário")).fill(username)
    page.get_by_label(re.compile("Password|Senha")).fill(password)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{product.base_url}/")


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    created = new_context(browser)
    try:
        yield created
    finally:
        created.close()


def save_screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
