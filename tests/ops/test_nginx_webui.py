"""nginx (the production configuration, on loopback) in front of a real ``webui run``: every
security header reaches the browser exactly once, whoever made the response — the web UI's
pages, API answers, static files and errors, or nginx's own answers — and with one value."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.ops.helpers import NginxSite, nginx_test_copy, require
from tests.ops.test_nginx import SECURITY_HEADERS, nginx_command, wait_listening
from tests.support.daemons import migrate_here
from tests.support.ports import free_port

pytestmark = pytest.mark.ops

BIN = Path(sys.executable).parent


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[NginxSite]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGW_")}
    env |= {
        "SMSGW_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
        "SMSGW_SECRET_KEY": secrets.token_urlsafe(48),
        "SMSGW_LISTEN": f"127.0.0.1:{port}",
        "SMSGW_DATA_DIR": str(tmp_path / "data"),
        "SMSGW_TRUSTED_PROXIES": "127.0.0.1/32",
    }
    await migrate_here(env["SMSGW_DATABASE_URL"])
    web = await asyncio.create_subprocess_exec(
        BIN / "webui",
        "run",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    site = nginx_test_copy(nginx_dir, upstream=f"127.0.0.1:{port}")
    nginx = await asyncio.create_subprocess_exec(
        *nginx_command(site, "-g", "daemon off;"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_listening(site.https_port, nginx)
        await wait_listening(port, web, timeout=90)
        yield site
    finally:
        for process in (nginx, web):
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=30)


async def headers_of(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, list[str]]]:
    async with http.get(url, ssl=False, allow_redirects=False) as response:
        await response.read()
        return response.status, {
            name: response.headers.getall(name, []) for name in SECURITY_HEADERS
        }


async def test_each_security_header_is_sent_once_with_one_value(site: NginxSite) -> None:
    base = f"https://127.0.0.1:{site.https_port}"
    app_paths = {
        "/login": 200,
        "/api/health": 200,
        "/static/css/app.css": 200,
        "/api/v1/messages": 401,
        "/no-such-page": 404,
        "/": 302,
    }
    seen: dict[str, set[str]] = {name: set() for name in SECURITY_HEADERS}
    async with aiohttp.ClientSession() as http:
        for path, status in app_paths.items():
            got, headers = await headers_of(http, base + path)
            assert got == status, path
            for name, values in headers.items():
                assert len(values) == 1, (path, name, values)
                seen[name].add(values[0])
        # nginx's own answer carries the same policy (only Content-Security-Policy differs:
        # nginx's pages load nothing at all)
        got, own = await headers_of(http, base + "/nginx-health")
        assert got == 200
    for name, values in own.items():
        assert len(values) == 1, (name, values)
        if name != "Content-Security-Policy":
            assert seen[name] == {values[0]}, name
    assert own["Content-Security-Policy"] == [
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ]


async def test_curl_sees_one_permissions_policy(site: NginxSite) -> None:
    """What the issue saw with curl: two conflicting Permissions-Policy lines."""
    result = await asyncio.to_thread(
        subprocess.run,
        [
            require("curl"),
            "-sk",
            "-D",
            "-",
            "-o",
            "/dev/null",
            f"https://127.0.0.1:{site.https_port}/login",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    values = [
        line.split(":", 1)[1].strip()
        for line in result.stdout.splitlines()
        if line.lower().startswith("permissions-policy:")
    ]
    assert values == ["camera=(), microphone=(), geolocation=()"]
