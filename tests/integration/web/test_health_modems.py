"""``checks.modems`` of ``/api/health`` and the idle-host notice, from the gatewayd hosts'
leases (:mod:`gatewayd.queue.host_state`): none enabled, one not online, all online, no live
host (stopped, or its lease ran out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.lease import Grant, acquire, release
from gatewayd.store import modems, utc_now
from tests.integration.web.conftest import WebEnv, login


async def announce_host(
    conn: AsyncConnection, host: str, names: Sequence[str], *, expiry: float = 20.0
) -> int:
    """``host`` takes its lease with ``names``; its epoch."""
    grant = await acquire(conn, host, instance="test", modems=names, expiry=expiry)
    assert isinstance(grant, Grant)
    return grant.epoch


async def health(web: WebEnv) -> dict[str, Any]:
    response = await web.client.get("/api/health")
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def add_modem(web: WebEnv, name: str, state: str) -> None:
    async with web.db.begin() as conn:
        row = {"name": name, "host": "h1", "device": f"/dev/{name}", "state": state}
        await conn.execute(insert(modems).values(**row, last_seen=utc_now()))


async def test_a_host_with_no_enabled_modem_is_degraded_and_shown(web: WebEnv) -> None:
    await add_modem(web, "old", "offline")  # left by an earlier run with a modem
    async with web.db.begin() as conn:
        await announce_host(conn, "h1", [])
    body = await health(web)
    assert body["status"] == "degraded"
    assert body["checks"]["modems"] == "none"
    assert body["details"]["modems"] == (
        "no enabled modem: gatewayd on h1 runs idle and sends nothing"
    )
    listed = await (await web.client.get("/api/v1/modems", headers=web.bearer("viewer"))).json()
    [gateway] = listed["gateways"]
    assert (gateway["host"], gateway["state"], gateway["modems"]) == ("h1", "idle", [])
    await login(web.client, "viewer")
    for page in ("/modems", "/"):
        html = await (await web.client.get(page)).text()
        assert 'data-idle-host="h1"' in html, page
        assert "has no enabled modem: it runs idle and sends nothing" in html


async def test_an_enabled_modem_not_online_is_degraded(web: WebEnv) -> None:
    await add_modem(web, "m0", "online")
    await add_modem(web, "m1", "error")
    async with web.db.begin() as conn:
        await announce_host(conn, "h1", ["m0", "m1"])
    body = await health(web)
    assert (body["status"], body["checks"]["modems"]) == ("degraded", "not_online")
    assert body["details"]["modems_not_online"] == ["m1"]
    async with web.db.begin() as conn:
        await conn.execute(update(modems).where(modems.c.name == "m1").values(state="online"))
    body = await health(web)
    assert (body["status"], body["checks"]["modems"]) == ("ok", "ok")
    await login(web.client, "viewer")
    assert "data-idle-host" not in await (await web.client.get("/modems")).text()


async def test_a_stopped_or_silent_host_says_nothing(web: WebEnv) -> None:
    await add_modem(web, "m0", "online")
    async with web.db.begin() as conn:
        await release(conn, "gone", await announce_host(conn, "gone", []))
        await announce_host(conn, "silent", [], expiry=-180.0)
    body = await health(web)
    assert body["checks"]["modems"] == "unknown"
    assert body["status"] == "ok"  # the gateway check answers for a gatewayd that is not there
    listed = await (await web.client.get("/api/v1/modems", headers=web.bearer("viewer"))).json()
    assert listed["gateways"] == []
