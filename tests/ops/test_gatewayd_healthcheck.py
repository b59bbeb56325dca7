"""The gatewayd container's health check (docker-compose.prod.yml) reads the daemon's own
liveness, the heartbeat its watchdog task touches: run against a real ``gatewayd run``, it is
healthy while the daemon's event loop turns and unhealthy once the daemon is frozen and its
heartbeat is older than a minute, or gone."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from gatewayd.service.heartbeat import HEARTBEAT_NAME
from tests.acceptance.test_gatewayd_health import Daemon, daemon, until_health
from tests.ops.test_compose import resolved

pytestmark = pytest.mark.ops

__all__ = ["daemon"]  # the fixture, shared with the acceptance test of `gatewayd health`


def healthcheck_here(data_dir: Path) -> str:
    test = resolved()["services"]["gatewayd"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert "/app/data/" in test[1]  # the image's SMSGW_DATA_DIR
    return str(test[1]).replace("$$", "$").replace("/app/data/", f"{data_dir}/")


def healthy(command: str) -> bool:
    return subprocess.run(["sh", "-c", command], capture_output=True, timeout=30).returncode == 0


async def test_healthcheck_follows_the_heartbeat(daemon: Daemon, tmp_path: Path) -> None:
    process, env = daemon
    command = healthcheck_here(tmp_path / "data")
    assert not healthy(command)  # nothing has beaten yet
    await until_health(env, 0)
    assert healthy(command)

    os.kill(process.pid, signal.SIGSTOP)
    old = time.time() - 90
    os.utime(tmp_path / "data" / HEARTBEAT_NAME, (old, old))
    assert not healthy(command)

    os.kill(process.pid, signal.SIGCONT)
    async with asyncio.timeout(10):  # the resumed daemon beats again within 0.2 s
        while True:
            if healthy(command):
                break
            await asyncio.sleep(0.05)

    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 60) == 0
    assert not healthy(command)
