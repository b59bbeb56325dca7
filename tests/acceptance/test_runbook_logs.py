"""The runbook's two log searches, end to end: a real ``webui run`` on PostgreSQL writing JSON
lines to ``logs/app.log``, real requests (one behind a proxy's ``X-Forwarded-For``), then the
runbook's exact shell commands run from the deployment directory:

    grep "Slow request" logs/app.log
    grep "Failed login" logs/app.log | tail -100

Each line they print must name the user and the client's address."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.ports import free_port

WEBUI = str(Path(sys.executable).with_name("webui"))
PASSWORD = "correct horse battery"
USER = "alice"
BROWSER_ADDRESS = "198.51.100.23"
ATTACKER_ADDRESS = "203.0.113.9"
START_TIMEOUT = 30.0


@dataclass
class RunningWeb:
    base_url: str
    workdir: Path
    process: asyncio.subprocess.Process

    async def shell(self, command: str) -> str:
        """Run a runbook command through a shell in the deployment directory; its stdout."""
        process = await asyncio.create_subprocess_shell(
            command,
            cwd=self.workdir,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        return out.decode()


async def _run(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    process = await asyncio.create_subprocess_exec(
        WEBUI,
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else None), 60
    )
    assert process.returncode == 0, err.decode()
    return out.decode()


async def _until_healthy(base_url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as client:
        while True:
            assert process.returncode is None, "webui run exited early"
            try:
                async with client.get(f"{base_url}/api/health") as answer:
                    if answer.status in (200, 503):
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)


@pytest.fixture
async def web_process(pg_url: str, tmp_path: Path) -> AsyncIterator[RunningWeb]:
    config = tmp_path / "smsgw.toml"
    config.write_text("[web]\nslow_request_ms = 1\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGW_")}
    env.update(
        {
            "SMSGW_CONFIG": str(config),
            "SMSGW_DATABASE_URL": pg_url,
            "SMSGW_SECRET_KEY": "runbook-logs-secret-0123456789-abcdefghijklmnopqrstuv",
            "SMSGW_LISTEN": f"127.0.0.1:{port}",
            "SMSGW_LOG_FILE": str(tmp_path / "logs" / "app.log"),
            "SMSGW_LOG_LEVEL": "INFO",
            "SMSGW_TRUSTED_PROXIES": "127.0.0.1/32",  # the requests play nginx on this host
        }
    )
    await _run("create-user", USER, "--role", "operator", env=env, stdin=PASSWORD + "\n")
    process = await asyncio.create_subprocess_exec(
        WEBUI,
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.wait_for(_until_healthy(base_url, process), START_TIMEOUT)
        yield RunningWeb(base_url, tmp_path, process)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _login(client: aiohttp.ClientSession, base_url: str, password: str, address: str) -> int:
    async with client.get(f"{base_url}/login") as page:
        html = await page.text()
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    token = html[start : html.index('"', start)]
    async with client.post(
        f"{base_url}/login",
        data={"username": USER, "password": password, "csrf_token": token},
        headers={"X-Forwarded-For": address},
        allow_redirects=False,
    ) as answer:
        return answer.status


def parsed(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


async def test_the_runbooks_greps_find_user_and_client_address(web_process: RunningWeb) -> None:
    base = web_process.base_url
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        assert await _login(client, base, PASSWORD, BROWSER_ADDRESS) == 303
        async with client.get(
            f"{base}/api/v1/messages", headers={"X-Forwarded-For": BROWSER_ADDRESS}
        ) as answer:
            assert answer.status == 200
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as attacker:
        assert await _login(attacker, base, "not the password", ATTACKER_ADDRESS) == 401

    slow = (await web_process.shell('grep "Slow request" logs/app.log')).splitlines()
    listed = [line for line in slow if '"/api/v1/messages"' in line]
    assert len(listed) == 1, slow
    assert USER in listed[0] and BROWSER_ADDRESS in listed[0]
    entry = parsed(listed)[0]
    assert entry["event"] == "Slow request"
    assert entry["user"] == f"user:{USER}"
    assert entry["client"] == BROWSER_ADDRESS
    assert entry["status"] == 200 and entry["duration_ms"] > 1

    failed = (await web_process.shell('grep "Failed login" logs/app.log | tail -100')).splitlines()
    assert len(failed) == 1, failed
    assert USER in failed[0] and ATTACKER_ADDRESS in failed[0]
    entry = parsed(failed)[0]
    assert entry["event"] == "Failed login"
    assert entry["username"] == USER
    assert entry["client_address"] == ATTACKER_ADDRESS
    assert entry["reason"] == "wrong_password"
