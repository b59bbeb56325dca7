"""Operator commands end to end with the real commands: a USSD code asked through the API
reaches the modem in embedded mode (one process, the key kept in the data directory) and
across ``webui run`` and ``gatewayd run`` over Redis when both are given the same secret key;
a gatewayd with another key refuses the command and says so in its log."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gatewayd.store import Database
from gatewayd.store import migrate as migrations
from tests.acceptance.core.procs import GATEWAYD, environment
from tests.support.daemons import new_api_key
from tests.support.ports import free_port

pytestmark = pytest.mark.acceptance

WEBUI = str(Path(sys.executable).with_name("webui"))
SECRET = "operator-commands-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
COMMAND_TIMEOUT = 5
"""Seconds ``webui run`` waits for gatewayd's answer (``[web] command_timeout``, 30 by
default): ample for the simulated modem's answer, and the wait the refused command costs."""


@asynccontextmanager
async def process(*args: str, env: dict[str, str], cwd: Path, log: Path) -> AsyncIterator[None]:
    with log.open("ab") as sink:
        proc = await asyncio.create_subprocess_exec(
            *args, env=env, cwd=cwd, stdout=sink, stderr=sink
        )
    try:
        yield
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def wait_until(check: Any, *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = await check()
        except aiohttp.ClientError:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.2)


async def ussd_through_the_api(base: str, key: str, *, timeout: float = 60) -> tuple[int, Any]:
    """Wait for sim0 online, then ask it for ``*100#``; (status, body)."""
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=headers) as client:

        async def sim0_online() -> bool:
            async with client.get(f"{base}/api/v1/modems") as answer:
                modems = (await answer.json())["modems"] if answer.status == 200 else []
                return any(m["name"] == "sim0" and m["state"] == "online" for m in modems)

        await wait_until(sim0_online, timeout=timeout, what="sim0 online")
        async with client.post(f"{base}/api/v1/modems/sim0/ussd", json={"code": "*100#"}) as a:
            return a.status, await a.json()


def log_events(path: Path, event: str) -> list[dict[str, Any]]:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return [
        e
        for e in (json.loads(line) for line in lines if line.startswith("{"))
        if e.get("event") == event
    ]


async def test_embedded_mode_signs_and_obeys_its_own_commands(tmp_path: Path) -> None:
    port = free_port()
    env = environment(SMSGW_LISTEN=f"127.0.0.1:{port}")
    async with process(
        GATEWAYD,
        "run",
        "--web",
        "--simulate",
        "1",
        env=env,
        cwd=tmp_path,
        log=tmp_path / "gatewayd.log",
    ):
        base = f"http://127.0.0.1:{port}"
        key = await wait_until(
            lambda: api_key_when_migrated(tmp_path / "data"), timeout=60, what="an API key"
        )
        status, body = await ussd_through_the_api(base, key)
    assert status == 200, body
    assert body["text"]
    assert not log_events(tmp_path / "gatewayd.log", "Refused operator command")


async def api_key_when_migrated(data: Path) -> str | None:
    """An API key once ``gatewayd run`` has created the schema in ``data`` (None before),
    written through the library as ``webui create-api-key`` writes it."""
    database = data / "gateway.db"
    if not ((data / "secret.key").exists() and database.exists()):
        return None
    db = Database(f"sqlite:///{database}")
    try:
        await migrations.require_current_schema(db)
    except migrations.SchemaOutdated:
        return None
    finally:
        await db.close()
    return await new_api_key(f"sqlite:///{database}", "ops")


@pytest.mark.timeout(300)
async def test_separate_processes_need_the_same_key(
    pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    shared = {
        "SMSGW_DATABASE_URL": pg_url,
        "SMSGW_REDIS_URL": redis_url,
        "SMSGW_DATA_DIR": str(tmp_path / "data"),
    }
    web_env = environment(**shared, SMSGW_SECRET_KEY=SECRET, SMSGW_LISTEN=f"127.0.0.1:{port}")
    key = await new_api_key(pg_url, "ops")
    base = f"http://127.0.0.1:{port}"
    # The refused command ends in the web UI's 504 once command_timeout has passed.
    config = tmp_path / "web.toml"
    config.write_text(f"[web]\ncommand_timeout = {COMMAND_TIMEOUT}\n")
    web = (WEBUI, "run", "--config", str(config))
    async with process(*web, env=web_env, cwd=tmp_path, log=tmp_path / "web.log"):
        same_key = environment(**shared, SMSGW_SECRET_KEY=SECRET)
        async with process(
            GATEWAYD,
            "run",
            "--simulate",
            "1",
            env=same_key,
            cwd=tmp_path,
            log=tmp_path / "gatewayd.log",
        ):
            status, body = await ussd_through_the_api(base, key)
            assert status == 200 and body["text"], body

        other_key = environment(**shared, SMSGW_SECRET_KEY="x" + SECRET[1:])
        other_log = tmp_path / "gatewayd-other.log"
        async with process(
            GATEWAYD, "run", "--simulate", "1", env=other_key, cwd=tmp_path, log=other_log
        ):
            status, body = await ussd_through_the_api(base, key)
            assert status == 504, body
            assert f"did not answer within {COMMAND_TIMEOUT} s" in json.dumps(body), body
            refused = log_events(other_log, "Refused operator command")
            assert [(e["reason"], e["type"], e["modem"]) for e in refused] == [
                ("bad_signature", "ussd", "sim0")
            ]
