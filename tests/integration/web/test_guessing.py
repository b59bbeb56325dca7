"""Guessing passwords and names, in one web process: the throttle per address and per (address,
name) answers unknown and real names alike, never locks the real user out from another
address, covers ``POST /api/v1/me/password`` (audited too); user names refuse control
characters and compare whatever their case; argon2 runs off the event loop with bounded
concurrency. (Sharing between processes, and the event loop of a real ``webui run`` during a
burst of sign-ins: ``tests/acceptance/test_web_processes_share_access.py``.)
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import select

from gatewayd.config import Settings
from gatewayd.store import audit_log
from tests.integration.web.conftest import (
    PASSWORD,
    OptionsFactory,
    WebEnv,
    csrf_from,
    make_web_env,
    settings_for,
)
from webui.auth.passwords import hash_password
from webui.auth.users import UserError, create_user
from webui.options import WebOptions, options_from_settings, parse_networks

ATTACKER = "10.0.0.66"
OFFICE = "10.0.0.7"


@pytest.fixture
def web_options() -> OptionsFactory:
    """The test client stands for a proxy forwarding LAN addresses."""

    def make(settings: Settings) -> WebOptions:
        return options_from_settings(
            settings, run_dispatcher=False, trusted_proxies=parse_networks(["127.0.0.0/8"])
        )

    return make


async def attempt(web: WebEnv, username: str, password: str, address: str) -> int:
    headers = {"X-Forwarded-For": address}
    page = await web.client.get("/login", headers=headers)
    answer = await web.client.post(
        "/login",
        headers=headers,
        allow_redirects=False,
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_from(await page.text()),
        },
    )
    return answer.status


async def test_unknown_and_real_names_are_refused_alike(web: WebEnv) -> None:
    for name in ("admin", "nobody-here"):
        answers = [await attempt(web, name, "wrong password!", ATTACKER) for _ in range(6)]
        assert answers == [401] * 5 + [429], (name, answers)


async def test_guesses_from_one_address_never_lock_the_real_user_out(web: WebEnv) -> None:
    for _ in range(12):  # past the (address, name) limit, and on and on
        assert await attempt(web, "admin", "wrong password!", ATTACKER) in (401, 429)
    assert await attempt(web, "admin", PASSWORD, ATTACKER) == 429
    assert await attempt(web, "admin", PASSWORD, OFFICE) == 303, "signs in from the office"


async def test_one_address_trying_many_names_is_blocked(web: WebEnv) -> None:
    answers = [await attempt(web, f"name{i}", "wrong password!", ATTACKER) for i in range(21)]
    assert answers == [401] * 20 + [429]
    assert await attempt(web, "viewer", PASSWORD, ATTACKER) == 429
    assert await attempt(web, "viewer", PASSWORD, OFFICE) == 303


async def test_user_names_refuse_control_characters_and_case_twins(web: WebEnv) -> None:
    async with web.db.begin() as conn:
        for bad in ("admin\n", "admin ", "ad\tmin", " admin", "Admin", "ADMIN"):
            with pytest.raises(UserError):
                await create_user(conn, bad, "viewer", "a long enough password")
    assert await attempt(web, "Admin", PASSWORD, OFFICE) == 303, "names compare in any case"
    me = await (await web.client.get("/api/v1/me")).json()
    assert me["name"] == "admin"
    created = await web.client.post(
        "/api/v1/users",
        headers={"X-CSRF-Token": me["csrf_token"]},
        json={"username": "OPERATOR", "role": "viewer"},
    )
    assert created.status == 409
    newline = await web.client.post(
        "/api/v1/users",
        headers={"X-CSRF-Token": me["csrf_token"]},
        json={"username": "ops\n", "role": "viewer"},
    )
    assert newline.status == 422


async def test_the_api_password_change_is_throttled_and_audited(web: WebEnv) -> None:
    assert await attempt(web, "operator", PASSWORD, ATTACKER) == 303
    token = (await (await web.client.get("/api/v1/me")).json())["csrf_token"]
    headers = {"X-CSRF-Token": token, "X-Forwarded-For": ATTACKER}

    async def change(current: str) -> Any:
        return await web.client.post(
            "/api/v1/me/password",
            headers=headers,
            json={"current_password": current, "new_password": "a new long passphrase"},
        )

    answers = [(await change(f"guess number {i}")).status for i in range(6)]
    assert answers == [422] * 5 + [429]
    right = await change(PASSWORD)
    assert right.status == 429, "no more guesses, even the right one, from this address"
    async with web.db.read() as conn:
        actions = [
            row.action
            for row in await conn.execute(
                select(audit_log.c.action)
                .where(audit_log.c.target == "operator")
                .order_by(audit_log.c.id)
            )
        ]
    assert actions.count("user.password.failed") == 7
    headers["X-Forwarded-For"] = OFFICE
    assert (await change(PASSWORD)).status == 200
    async with web.db.read() as conn:
        last = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.client_address)
                .order_by(audit_log.c.id.desc())
                .limit(1)
            )
        ).one()
    assert (last.action, last.client_address) == ("user.password", OFFICE)


def _argon2_seconds() -> float:
    started = time.perf_counter()
    hash_password("measure one argon2 run")
    return time.perf_counter() - started


async def test_password_checks_beyond_the_queue_are_refused_quickly(db_url: str) -> None:
    """One check at a time and one waiting: a burst is answered 503 at once, not queued."""

    def one_at_a_time(settings: Settings) -> WebOptions:
        return options_from_settings(
            settings,
            run_dispatcher=False,
            trusted_proxies=parse_networks(["127.0.0.0/8"]),
            password_checks_at_once=1,
            password_checks_waiting=1,
        )

    async for web in make_web_env(settings_for(db_url), one_at_a_time):
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(attempt(web, "viewer", f"wrong {i}", f"10.2.0.{i}") for i in range(12))
        )
        elapsed = time.perf_counter() - started
    assert 503 in answers and 401 in answers
    assert set(answers) <= {401, 503}
    assert elapsed < 12 * _argon2_seconds(), "refusals did not queue"
