"""Fixtures for the web tier: an app on a fresh database (PostgreSQL and SQLite), a test
client with a cookie jar, users and API keys of each role, and a captured JSON log.

The seeded users' password is hashed once per test process (:data:`SEED_HASHES`): a real
argon2id hash of :data:`PASSWORD`, stored for each of them as ``create_user`` stores it. Three
argon2 runs for every test were about 0.6 s of CPU, most of a web test's cost; every sign-in
and password change a test makes still runs argon2."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application, Request

from gatewayd.config import Settings, load_settings
from gatewayd.store import Database, Role
from tests.support.json_logs import json_logs
from webui.app import create_app
from webui.auth.apikeys import create_api_key
from webui.auth.passwords import PasswordWork
from webui.auth.users import create_user
from webui.options import WebOptions, options_from_settings

SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PASSWORD = "correct horse battery"


def settings_for(db_url: str, redis_url: str | None = None, **env: str) -> Settings:
    environment = {"SMSGW_DATABASE_URL": db_url, "SMSGW_SECRET_KEY": SECRET, **env}
    if redis_url:
        environment["SMSGW_REDIS_URL"] = redis_url
    return load_settings(None, env=environment)


@dataclass
class WebEnv:
    app: Application
    client: TestClient[Request, Application]
    db: Database
    settings: Settings
    keys: dict[str, str]
    """Role name -> a live API key of that role ("operator", "viewer")."""

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


class LogCapture:
    """JSON log lines written during the test, parsed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        lines = self.path.read_text().splitlines() if self.path.exists() else []
        parsed = [json.loads(line) for line in lines if line.strip()]
        return [line for line in parsed if name is None or line.get("event") == name]


@pytest.fixture
def log_capture(tmp_path: Path) -> Iterator[LogCapture]:
    with json_logs(tmp_path / "app.log") as path:
        yield LogCapture(path)


class HashOnce(PasswordWork):
    """Password work that hashes each password once and hands out that hash again."""

    def __init__(self) -> None:
        super().__init__(None)
        self.hashes: dict[str, str] = {}

    async def hash(self, password: str) -> str:
        if password not in self.hashes:
            self.hashes[password] = await super().hash(password)
        return self.hashes[password]


SEED_HASHES = HashOnce()


async def seed_identities(db: Database) -> dict[str, str]:
    keys: dict[str, str] = {}
    async with db.begin() as conn:
        for role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER):
            await create_user(conn, role.value, role, PASSWORD, work=SEED_HASHES)
        for role in (Role.OPERATOR, Role.VIEWER):
            new = await create_api_key(conn, f"{role.value}-key", role)
            keys[role.value] = new.key
    return keys


OptionsFactory = Callable[[Settings], WebOptions]


@pytest.fixture
def web_options() -> OptionsFactory:
    """Override in a test module to change options (timeouts, slow request threshold...)."""

    def make(settings: Settings) -> WebOptions:
        return options_from_settings(settings, run_dispatcher=False)

    return make


@pytest.fixture
async def web(db_url: str, web_options: OptionsFactory) -> AsyncIterator[WebEnv]:
    async for env in make_web_env(settings_for(db_url), web_options):
        yield env


async def make_web_env(
    settings: Settings, web_options: OptionsFactory, *, seed: bool = True
) -> AsyncIterator[WebEnv]:
    db = Database.from_settings(settings.database)
    keys = await seed_identities(db) if seed else {}
    app = create_app(settings, db=db, options=web_options(settings))
    client = TestClient(TestServer(app), cookie_jar=CookieJar(unsafe=True))
    await client.start_server()
    try:
        yield WebEnv(app=app, client=client, db=db, settings=settings, keys=keys)
    finally:
        await client.close()
        await db.close()


async def login(
    client: TestClient[Request, Application], username: str, password: str = PASSWORD
) -> Any:
    """Sign in through the form; returns the final response (after the redirect)."""
    page = await client.get("/login")
    token = csrf_from(await page.text())
    return await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        allow_redirects=False,
    )


def csrf_from(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            # aiohttp-session stores plain-string request keys; not ours to change.
            item.add_marker(pytest.mark.filterwarnings("ignore::aiohttp.web.NotAppKeyWarning"))
