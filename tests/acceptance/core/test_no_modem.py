"""``gatewayd run --web`` with no enabled modem, as a process: it never simulates on its own;
it stays up idle and says so (one warning, its stdout, ``/api/health``, ``/api/v1/modems``),
and a queued message stays queued."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from gatewayd.service.daemon import IDLE_WARNING
from gatewayd.store import Database, messages
from tests.acceptance.core.procs import Daemon, environment, run_command, wait_for, write_config
from tests.support.daemons import new_api_key
from tests.support.ports import free_port

pytestmark = pytest.mark.acceptance
POLL_INTERVAL = 0.2
OBSERVED_POLLS = 10
"""How long a queued message is watched for staying queued, in poll intervals: the workers
that would claim it poll this often (there is nothing to wait for when nothing happens)."""


def log_lines(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


async def message_status(message_id: int, db: Database) -> str:
    async with db.read() as conn:
        query = select(messages.c.status).where(messages.c.id == message_id)
        status: str = (await conn.execute(query)).scalar_one()
    return status


async def test_no_enabled_modem_runs_idle_and_sends_nothing(tmp_path: Path) -> None:
    port = free_port()
    env = environment(SMSGW_LISTEN=f"127.0.0.1:{port}")
    config = write_config(
        tmp_path / "gatewayd.toml",
        host="lonely",
        devices=[],
        data_dir=tmp_path / "data",
        poll_interval=POLL_INTERVAL,
    )
    log_path = tmp_path / "gatewayd.log"
    daemon = Daemon(("--web", "--config", str(config)), env, log_path, cwd=tmp_path)
    database_url = f"sqlite:///{tmp_path / 'data' / 'gateway.db'}"
    db = Database(database_url)
    try:
        await daemon.start()
        code, out, err = await run_command(
            "send", "--config", str(config), "--to", "+5511987650000", "--text", "stay", env=env
        )
        assert code == 0, err
        message_id = int(out)
        key = await new_api_key(database_url, "probe", "viewer")
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/health") as answer:
                health_code, health = answer.status, await answer.json()
            bearer = {"Authorization": f"Bearer {key}"}
            async with http.get(f"{base}/api/v1/modems", headers=bearer) as answer:
                assert answer.status == 200
                listed = await answer.json()
        await asyncio.sleep(POLL_INTERVAL * OBSERVED_POLLS)
        assert daemon.process is not None and daemon.process.returncode is None
        queued_while_up = await message_status(message_id, db)
        code, _ = await daemon.terminate()
        queued_after = await message_status(message_id, db)
    finally:
        await daemon.ensure_stopped()
        await db.close()
    banner = "".join(daemon.output)
    assert "simulated modem" not in banner
    assert "gatewayd running idle: no enabled modem" in banner
    warnings = [line for line in log_lines(log_path) if line["level"] == "warning"]
    assert [line["event"] for line in warnings] == [IDLE_WARNING]
    assert health_code == 200 and health["status"] == "degraded"
    assert health["checks"]["modems"] == "none"
    assert health["details"]["modems"] == (
        "no enabled modem: gatewayd on lonely runs idle and sends nothing"
    )
    assert set(health["checks"]) == {"database", "redis", "gateway", "modems", "queue"}
    [gateway] = listed["gateways"]
    assert (gateway["host"], gateway["state"], gateway["modems"]) == ("lonely", "idle", [])
    assert listed["modems"] == []
    assert queued_while_up == "queued"
    assert queued_after == "queued"
    assert not (tmp_path / "data" / "sim").exists()
    assert code == 0


async def test_simulate_when_asked(tmp_path: Path) -> None:
    """``--simulate 2`` still gives two modems, and the health check sees them online."""
    port = free_port()
    env = environment(SMSGW_LISTEN=f"127.0.0.1:{port}")
    daemon = Daemon(("--web", "--simulate", "2"), env, tmp_path / "gatewayd.log", cwd=tmp_path)
    try:
        await daemon.start()
        async with aiohttp.ClientSession() as http:

            async def modems_online() -> dict[str, Any] | None:
                async with http.get(f"http://127.0.0.1:{port}/api/health") as answer:
                    body: dict[str, Any] = await answer.json()
                return body if body["checks"]["modems"] == "ok" else None

            health = await wait_for(modems_online, timeout=30, what="both modems online")
        code, _ = await daemon.terminate()
    finally:
        await daemon.ensure_stopped()
    simulated = [line.split(":")[0] for line in daemon.output if line.startswith("simulated")]
    assert simulated == ["simulated modem sim0", "simulated modem sim1"]
    assert health["status"] == "ok"
    assert code == 0
