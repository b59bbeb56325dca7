"""``gatewayd run --web`` on SQLite seen from a LAN client (a private, non-loopback address in
a network namespace of its own): a forged ``X-Forwarded-For`` opens nothing, escapes no
throttle and writes no forged address, unless the peer is a configured trusted proxy."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.acceptance.core.procs import GATEWAYD, environment
from tests.support.netns import LAN_ADDRESS, LanServer

pytestmark = pytest.mark.acceptance

BASE = f"http://{LAN_ADDRESS}:8080"
ADDRESS_FAILURE_LIMIT = 20
"""``WebOptions.address_failure_limit``: failed logins from one address that block it."""


async def lan_gateway(tmp_path: Path, **env: str) -> AsyncIterator[LanServer]:
    server = LanServer(
        (GATEWAYD, "run", "--web", "--simulate", "1"),
        environment(
            SMSGW_DATA_DIR=str(tmp_path / "data"), SMSGW_LISTEN=f"{LAN_ADDRESS}:8080", **env
        ),
        tmp_path,
        cwd=tmp_path,
    )
    await server.start()
    try:
        await server.wait_until_serving(f"{BASE}/api/health")
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[LanServer]:
    async for server in lan_gateway(tmp_path):
        yield server


async def csrf_token(server: LanServer) -> str:
    page = await server.curl(f"{BASE}/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.body)
    assert match, page.body[:500]
    return match.group(1)


async def test_forwarded_for_from_a_lan_client_is_not_believed(
    gateway: LanServer, tmp_path: Path
) -> None:
    metrics = await gateway.curl(f"{BASE}/api/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert metrics.status == 401, "a LAN client must not pass itself off as the server"

    token = await csrf_token(gateway)
    statuses = []
    for attempt in range(ADDRESS_FAILURE_LIMIT + 2):
        answer = await gateway.curl(
            f"{BASE}/login",
            headers={"X-Forwarded-For": f"203.0.113.{attempt + 1}"},
            data={
                "username": f"nobody{attempt}",
                "password": "wrong password",
                "csrf_token": token,
            },
        )
        statuses.append(answer.status)
    assert statuses[-1] == 429, f"the address throttle was escaped: {statuses}"

    with sqlite3.connect(tmp_path / "data" / "gateway.db") as conn:
        audited = {
            row[0]
            for row in conn.execute(
                "SELECT client_address FROM audit_log WHERE action = 'login.failed'"
            )
        }
    assert audited == {LAN_ADDRESS}
    failed_lines = [
        json.loads(line)
        for line in gateway.stderr_path.read_text().splitlines()
        if line.startswith("{") and '"Failed login"' in line
    ]
    assert failed_lines
    assert {line["client_address"] for line in failed_lines} == {LAN_ADDRESS}


async def test_a_configured_trusted_proxy_is_believed(tmp_path: Path) -> None:
    async for server in lan_gateway(tmp_path, SMSGW_TRUSTED_PROXIES=f"{LAN_ADDRESS}/32"):
        metrics = await server.curl(f"{BASE}/api/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        assert metrics.status == 200
        untrusted_hop = await server.curl(
            f"{BASE}/api/metrics", headers={"X-Forwarded-For": "127.0.0.1, 10.1.2.3"}
        )
        assert untrusted_hop.status == 401, "the right-most untrusted hop is the client"
