"""scripts/monitor.sh against a real local stack: ``gatewayd run --simulate 1`` and
``webui run`` on a fresh PostgreSQL database. OK (0) when all is well; warning (1) and
critical (2) when thresholds, the queue, the health endpoint or the database say so."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.ops.helpers import SCRIPTS, VENV_BIN, require
from tests.support.ports import free_port

pytestmark = pytest.mark.ops

MONITOR = SCRIPTS / "monitor.sh"
PSQL = require("psql")

# The machine running the tests may itself be busy, and the PostgreSQL server is shared with
# other tests: their load is not what these tests check.
CALM_MACHINE = {
    "SMSGW_MONITOR_DB_CONN_WARN": "100",
    "SMSGW_MONITOR_DB_CONN_CRIT": "100",
    "SMSGW_MONITOR_LOCK_WAIT_WARN": "100",
    "SMSGW_MONITOR_CPU_WARN": "100",
    "SMSGW_MONITOR_MEM_WARN": "100",
    "SMSGW_MONITOR_MEM_CRIT": "100",
    "SMSGW_MONITOR_DISK_WARN": "100",
    "SMSGW_MONITOR_DISK_CRIT": "100",
    "SMSGW_MONITOR_CPU_SAMPLE": "0.2",
}


def monitor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MONITOR), "--no-color"], capture_output=True, text=True, env=env, timeout=60
    )


class Stack:
    def __init__(self, database_url: str, tmp: Path) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "SMSGW_DATABASE_URL": database_url,
            "SMSGW_SECRET_KEY": secrets.token_hex(32),
            "SMSGW_LISTEN": f"127.0.0.1:{self.port}",
            "SMSGW_DATA_DIR": str(tmp / "data"),
            "SMSGW_LOG_FILE": str(tmp / "logs" / "app.log"),
        }
        self.env.pop("SMSGW_REDIS_URL", None)
        self.env.pop("SMSGW_CONFIG", None)
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for command in (["gatewayd", "run", "--simulate", "1"], ["webui", "run"]):
            self.processes.append(
                subprocess.Popen(
                    [str(VENV_BIN / command[0]), *command[1:]],
                    env=self.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/health"

    async def wait_healthy(self) -> None:
        """Until /api/health says ok: the schema is there and the modem has reported."""
        async with asyncio.timeout(60), aiohttp.ClientSession() as http:
            while True:
                for process in self.processes:
                    assert process.poll() is None, f"{process.args} exited {process.returncode}"
                try:
                    async with http.get(self.health_url) as response:
                        if response.status == 200 and (await response.json())["status"] == "ok":
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)


@pytest.fixture
def stack(pg_url: str, tmp_path: Path) -> Iterator[Stack]:
    running = Stack(pg_url, tmp_path)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_webui_run_answers_help() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "webui"), "run", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "--config" in result.stdout


async def test_healthy_stack_is_ok_and_thresholds_and_queue_raise_the_level(
    stack: Stack, pg_url: str
) -> None:
    await stack.wait_healthy()
    env = {
        **stack.env,
        **CALM_MACHINE,
        "SMSGW_HEALTH_URL": stack.health_url,
        "SMSGW_MONITOR_PROCESSES": "gatewayd webui",
        "SMSGW_MONITOR_MODE": "direct",
    }

    healthy = await asyncio.to_thread(monitor, env)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    out = healthy.stdout
    assert "[ OK ] status ok" in out
    assert "[ OK ] connections" in out
    assert "[ OK ] queue depth 0" in out
    assert "[ OK ] sim0 on" in out and "online" in out
    assert "Overall: OK" in out
    assert "[WARN]" not in out and "[CRIT]" not in out

    disk_warning = await asyncio.to_thread(monitor, {**env, "SMSGW_MONITOR_DISK_WARN": "0"})
    assert disk_warning.returncode == 1, disk_warning.stdout
    assert "[WARN] disk" in disk_warning.stdout

    memory_critical = await asyncio.to_thread(monitor, {**env, "SMSGW_MONITOR_MEM_CRIT": "0"})
    assert memory_critical.returncode == 2, memory_critical.stdout
    assert "[CRIT] memory" in memory_critical.stdout

    # a message for a modem nobody has, due 20 minutes ago: the queue is stuck
    await asyncio.to_thread(
        subprocess.run,
        [
            PSQL,
            "-X",
            "-q",
            "--dbname",
            pg_url,
            "-c",
            "INSERT INTO messages (recipient, text, encoding, segments, status, modem,"
            " created_at, send_at) VALUES ('+5511990000099', 'stuck', 'gsm7', 1, 'queued',"
            " 'absent', now() - interval '20 minutes', now() - interval '20 minutes')",
        ],
        check=True,
    )
    stuck = await asyncio.to_thread(monitor, env)
    assert stuck.returncode == 1, stuck.stdout
    assert "[WARN] queue depth 1 (queued 1, sending 0; oldest due message waits 1" in stuck.stdout


def test_unreachable_database_is_critical(tmp_path: Path) -> None:
    closed = free_port()
    env = {
        **os.environ,
        **CALM_MACHINE,
        "SMSGW_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed}/sms_gateway",
        "SMSGW_HEALTH_URL": f"http://127.0.0.1:{free_port()}/api/health",
        "SMSGW_MONITOR_PROCESSES": "sh",
        "SMSGW_MONITOR_MODE": "direct",
    }
    result = monitor(env)
    assert result.returncode == 2, result.stdout
    assert "[CRIT] unreachable" in result.stdout
    assert "[CRIT] no answer" in result.stdout  # nothing serves /api/health there
    assert "Overall: CRITICAL" in result.stdout


def test_missing_process_is_critical() -> None:
    env = {
        **os.environ,
        **CALM_MACHINE,
        "SMSGW_MONITOR_PROCESSES": "no-such-daemon-xyz",
        "SMSGW_HEALTH_URL": f"http://127.0.0.1:{free_port()}/api/health",
        "SMSGW_MONITOR_MODE": "none",
    }
    result = monitor(env)
    assert result.returncode == 2
    assert "[CRIT] no-such-daemon-xyz is not running" in result.stdout
