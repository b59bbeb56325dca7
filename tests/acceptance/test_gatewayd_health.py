"""``gatewayd health`` (the container health check) against a real ``gatewayd run``: alive while
the daemon's event loop turns, failing when the daemon is frozen (SIGSTOP) and its heartbeat
grows old, alive again when it resumes, and failing once it has stopped."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.service.heartbeat import HEARTBEAT_NAME
from tests.support.daemons import migrate_here

pytestmark = pytest.mark.acceptance

GATEWAYD = str(Path(sys.executable).with_name("gatewayd"))


def environment(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SMSGW_") and k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")
    }
    env["SMSGW_DATA_DIR"] = str(tmp_path / "data")
    env["SMSGW_DATABASE_URL"] = f"sqlite:///{tmp_path / 'gateway.db'}"
    return env


def health(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GATEWAYD, "health", *args], env=env, capture_output=True, text=True, timeout=30
    )


async def until_health(env: dict[str, str], code: int, timeout: float = 30.0) -> str:
    """Ask ``gatewayd health`` until it exits with ``code``; what it printed last."""
    async with asyncio.timeout(timeout):
        while True:
            result = await asyncio.to_thread(health, env)
            if result.returncode == code:
                return result.stdout + result.stderr
            await asyncio.sleep(0.1)


Daemon = tuple[asyncio.subprocess.Process, dict[str, str]]


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    env = environment(tmp_path)
    await migrate_here(env["SMSGW_DATABASE_URL"])
    # systemd's watchdog interval (half of WatchdogSec): the daemon beats every 0.2 s here
    process = await asyncio.create_subprocess_exec(
        GATEWAYD,
        "run",
        "--simulate",
        "0",
        env={**env, "WATCHDOG_USEC": "400000"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield process, env
    finally:
        if process.returncode is None:
            os.kill(process.pid, signal.SIGCONT)
            process.kill()
            await process.wait()


async def test_health_follows_the_daemons_liveness(daemon: Daemon, tmp_path: Path) -> None:
    process, env = daemon
    alive = await until_health(env, 0)
    assert alive.startswith("gatewayd alive: last heartbeat")

    # a frozen event loop stops beating: once the heartbeat is older than the limit, unhealthy
    os.kill(process.pid, signal.SIGSTOP)
    heartbeat = tmp_path / "data" / HEARTBEAT_NAME
    old = time.time() - 120
    os.utime(heartbeat, (old, old))
    stuck = await asyncio.to_thread(health, env)
    assert stuck.returncode == 1
    stale = r"last heartbeat 1[2-9][0-9]s ago \(limit 60s\): gatewayd is stuck or stopped"
    assert re.search(stale, stuck.stderr), stuck.stderr
    # the limit is the caller's
    assert (await asyncio.to_thread(health, env, "--max-age", "200")).returncode == 0

    os.kill(process.pid, signal.SIGCONT)
    await until_health(env, 0)

    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 60) == 0
    stopped = await asyncio.to_thread(health, env)
    assert stopped.returncode == 1
    assert "no heartbeat at" in stopped.stderr


def test_health_without_a_daemon_says_so(tmp_path: Path) -> None:
    result = health(environment(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"gatewayd health: error: no heartbeat at {tmp_path / 'data' / HEARTBEAT_NAME}: "
        "gatewayd is not running with this data folder"
    )
    bad = health(environment(tmp_path), "--max-age", "0")
    assert bad.returncode == 2
