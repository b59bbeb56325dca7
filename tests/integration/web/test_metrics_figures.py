"""The runbook's figures in ``/api/metrics`` and ``/metrics``: present and sane on PostgreSQL and
SQLite, lock waits seen while a row lock is held, ``database_up`` 0 with the database gone, and
every ``smsgw_*`` name that ``ops/alerts.yml`` uses exposed."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import insert

from gatewayd.queue.lease import acquire
from gatewayd.store import Database, message_parts, modems, utc_now
from tests.integration.core_flow.harness import eventually
from tests.integration.web.conftest import (
    OptionsFactory,
    WebEnv,
    make_web_env,
    settings_for,
)
from webui.auth.throttle import ThrottlePolicy, record_failure
from webui.dbstats import QueryTimer, database_up

ALERTS = Path(__file__).resolve().parents[3] / "ops" / "alerts.yml"
METRIC_NAME = re.compile(r"\bsmsgw_[a-z0-9_]+")


async def add_modem(web: WebEnv, name: str = "m0") -> None:
    async with web.db.begin() as conn:
        await conn.execute(
            insert(modems).values(
                name=name,
                host="h1",
                device="/dev/x",
                state="online",
                signal_dbm=-71,
                operator="Vivo",
                registration="home",
                last_seen=utc_now(),
                imei="1",
                imsi="2",
            )
        )


async def traffic(web: WebEnv) -> None:
    """A few requests, one message sent through m0 in the last hour."""
    answer = await web.client.post(
        "/api/v1/messages",
        json={"to": "+5511987654321", "text": "x"},
        headers=web.bearer("operator"),
    )
    message = await answer.json()
    async with web.db.begin() as conn:
        await conn.execute(
            message_parts.update()
            .where(message_parts.c.message_id == message["id"])
            .values(modem="m0", sent_at=utc_now())
        )
    for _ in range(3):
        assert (await web.client.get("/api/health")).status == 200


async def test_json_figures_are_present_and_sane(web: WebEnv, db_url: str) -> None:
    await add_modem(web)
    await traffic(web)
    async with web.db.begin() as conn:  # one failed SMTP AUTH, as the SMTP server counts it
        await record_failure(conn, ThrottlePolicy(), "10.0.0.9", "smtp:erp", "smtp")
    data = await (await web.client.get("/api/metrics")).json()
    assert data["database_up"] is True
    requests = data["requests"]
    assert requests["requests"] >= 4
    assert 0 < requests["latency_p95_ms"] < 60_000
    assert requests["error_rate"] == 0.0
    availability = data["availability"]
    assert availability["non_5xx_share"] == 1.0
    assert availability["uptime_seconds"] > 0
    database = data["database"]
    assert database["up"] is True
    assert 0 <= database["pool_use"] <= 1
    assert database["queries"]["queries"] >= 5
    assert 0 < database["query_p95_ms"] < 60_000
    if "postgresql" in db_url:
        waits = database["lock_waits"]
        assert waits["backends"] >= 1
        assert waits["waiting_locks"] == 0 and waits["waiting_backends"] == 0
        assert 0 <= waits["share"] <= 1
    else:
        assert database["lock_waits"] is None
    assert data["queue"]["depth"] == 1
    assert data["smpp"] == {"outbox_pending": 0}
    assert data["auth_failures"]["smtp"] == 1 and data["auth_failures"]["password"] == 0
    modem = data["modems"][0]
    assert modem == {
        "name": "m0",
        "state": "online",
        "online": True,
        "signal": -71,
        "queue_depth": 0,
        "sent_today": 0,
        "sent_last_hour": 1,
    }


async def test_prometheus_exposes_every_name_the_alert_rules_use(web: WebEnv) -> None:
    await add_modem(web)
    await traffic(web)
    async with web.db.begin() as conn:  # host h1 runs m0 under its lease
        await acquire(conn, "h1", instance="h1", modems=["m0"], expiry=20.0)
    text = await (await web.client.get("/metrics")).text()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    wanted = set(METRIC_NAME.findall(ALERTS.read_text()))
    assert {"smsgw_database_up", "smsgw_db_pool_use", "smsgw_queue_depth"} <= wanted
    missing = sorted(name for name in wanted if not any(line.startswith(name) for line in samples))
    assert missing == []
    assert "smsgw_database_up 1.0" in samples
    assert 'smsgw_modem_online{modem="m0"} 1.0' in samples
    assert 'smsgw_modem_sent_last_hour{modem="m0"} 1.0' in samples
    assert "smsgw_http_availability 1.0" in samples
    assert "smsgw_smpp_outbox_pending 0.0" in samples
    assert 'smsgw_auth_failures{kind="smtp"} 0.0' in samples
    p95 = next(line for line in samples if line.startswith("smsgw_db_query_p95_seconds "))
    assert 0 < float(p95.split()[1]) < 60


@pytest.fixture
async def pg_web(pg_url: str, web_options: OptionsFactory) -> AsyncIterator[WebEnv]:
    async for env in make_web_env(settings_for(pg_url), web_options):
        yield env


async def test_lock_waits_count_a_session_blocked_on_a_row_lock(
    pg_web: WebEnv, pg_url: str
) -> None:
    holder = await asyncpg.connect(pg_url)
    waiter = await asyncpg.connect(pg_url)
    try:
        lock = holder.transaction()
        await lock.start()
        await holder.execute("SELECT id FROM users WHERE username = 'admin' FOR UPDATE")
        blocked = asyncio.create_task(
            waiter.execute("UPDATE users SET failed_logins = 1 WHERE username = 'admin'")
        )
        data = await asyncio.wait_for(_until_lock_wait(pg_web), timeout=10)
        waits = data["database"]["lock_waits"]
        assert waits["waiting_locks"] == 1
        assert waits["waiting_backends"] == 1
        assert 0 < waits["share"] <= 1
        await lock.rollback()
        await asyncio.wait_for(blocked, timeout=10)
    finally:
        await holder.close()
        await waiter.close()


async def test_lock_waits_in_another_database_are_not_counted(
    pg_web: WebEnv, pg_empty_url: str
) -> None:
    holder = await asyncpg.connect(pg_empty_url)
    waiter = await asyncpg.connect(pg_empty_url)
    try:
        await holder.execute("CREATE TABLE elsewhere (id int)")
        lock = holder.transaction()
        await lock.start()
        await holder.execute("LOCK TABLE elsewhere IN ACCESS EXCLUSIVE MODE")
        blocked = asyncio.create_task(waiter.execute("SELECT * FROM elsewhere"))
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = $1"
        pid = waiter.get_server_pid()

        async def waiter_blocked() -> int:
            return int(await holder.fetchval(waiting, pid))

        await eventually(waiter_blocked, timeout=10, what="the other database's lock wait")
        data = await (await pg_web.client.get("/api/metrics")).json()
        waits = data["database"]["lock_waits"]
        assert (waits["waiting_locks"], waits["waiting_backends"]) == (0, 0)
        await lock.rollback()
        await asyncio.wait_for(blocked, timeout=10)
    finally:
        await holder.close()
        await waiter.close()


async def _until_lock_wait(web: WebEnv) -> dict[str, Any]:
    while True:
        data: dict[str, Any] = await (await web.client.get("/api/metrics")).json()
        if data["database"]["lock_waits"]["waiting_backends"] >= 1:
            return data
        await asyncio.sleep(0.05)


@pytest.fixture
async def web_without_database(web_options: OptionsFactory) -> AsyncIterator[WebEnv]:
    gone = "postgresql://postgres@127.0.0.1:9/sms_gateway"
    async for env in make_web_env(settings_for(gone), web_options, seed=False):
        yield env


async def test_a_dead_database_is_reported_not_a_5xx(web_without_database: WebEnv) -> None:
    web = web_without_database
    answer = await web.client.get("/api/metrics")
    assert answer.status == 200
    data = await answer.json()
    assert data["database_up"] is False
    assert data["queue"]["depth"] is None
    assert data["database"]["lock_waits"] is None
    text = await (await web.client.get("/metrics")).text()
    assert "smsgw_database_up 0.0" in text.splitlines()


async def test_database_up_answers_within_its_timeout() -> None:
    db = Database("postgresql://postgres@127.0.0.1:9/sms_gateway", connect_timeout=30)
    try:
        assert await asyncio.wait_for(database_up(db, timeout=0.5), timeout=5) is False
    finally:
        await db.close()


def test_query_timer_window_and_p95() -> None:
    now = [1000.0]
    timer = QueryTimer(window=10, clock=lambda: now[0])
    assert timer.summary()["p95_ms"] is None
    for ms in range(1, 101):
        timer.record(ms / 1000)
    assert timer.summary() == {"window_seconds": 10, "queries": 100, "p95_ms": 95.0}
    now[0] += 11
    timer.record(0.002)
    assert timer.summary() == {"window_seconds": 10, "queries": 1, "p95_ms": 2.0}
