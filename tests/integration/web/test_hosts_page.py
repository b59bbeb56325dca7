"""Host leases in the web UI and the metrics: the hosts page, ``/api/metrics`` and ``/metrics``
show each gatewayd host alive or not, its last renewal, modems, parts in flight and the
takeovers of its work; on PostgreSQL and SQLite."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from gatewayd.queue import NewMessage, enqueue, prepare
from gatewayd.queue.lease import Grant, acquire
from gatewayd.queue.takeover import dead_hosts, take_over
from gatewayd.store import gateway_hosts, utc_now
from tests.integration.web.conftest import WebEnv, login
from tests.support.sending import claim, hand_over


async def two_hosts_one_taken_over(web: WebEnv) -> None:
    """Hosts a (its lease run out, one part in its hands, taken over by b) and b (alive, one
    part in flight)."""
    async with web.db.begin() as conn:
        for host, names in (("a", ["m0", "m1"]), ("b", ["m2"])):
            granted = await acquire(conn, host, instance=host, modems=names, expiry=20.0)
            assert isinstance(granted, Grant)
        await enqueue(
            conn,
            [prepare(NewMessage("+5511987650001", f"text {i}")) for i in range(2)],
            created_by="test",
        )
        now = utc_now()
        for host, modem in (("a", "m0"), ("b", "m2")):
            [message] = await claim(conn, host=host, modem=modem, now=now)
            await hand_over(conn, message, 0, modem=modem, imsi="1", now=now)
        await conn.execute(
            update(gateway_hosts)
            .where(gateway_hosts.c.host == "a")
            .values(expires_at=utc_now() - timedelta(seconds=5))
        )
    async with web.db.begin() as conn:
        [dead] = await dead_hosts(conn, me="b")
        await take_over(conn, dead, by="b", policy="wait", now=utc_now())


async def test_the_hosts_page_shows_leases_and_takeovers(web: WebEnv) -> None:
    await two_hosts_one_taken_over(web)
    await login(web.client, "viewer")
    html = await (await web.client.get("/hosts")).text()
    rows = dict(re.findall(r'<tr data-host="(\w+)" data-alive="(yes|no)"', html))
    assert rows == {"a": "no", "b": "yes"}
    assert "data-dead-hosts=" in html
    assert "taken over" in html and "last by b" in html
    assert "1 unknown, 1 back to the queue, 0 to other modems, 0 waiting" in html
    assert 'href="/hosts" aria-current="page"' in html


async def test_metrics_show_every_host(web: WebEnv) -> None:
    await two_hosts_one_taken_over(web)
    figures = await (await web.client.get("/api/metrics")).json()
    hosts = {h["host"]: h for h in figures["hosts"]}
    assert (hosts["a"]["alive"], hosts["a"]["state"], hosts["a"]["takeovers"]) == (
        False,
        "taken_over",
        1,
    )
    assert hosts["a"]["last_takeover"]["by"] == "b"
    assert hosts["a"]["last_takeover"]["unknown_parts"] == 1
    assert (hosts["b"]["alive"], hosts["b"]["in_flight_parts"], hosts["b"]["modems"]) == (
        True,
        1,
        ["m2"],
    )
    assert hosts["b"]["expires_in_seconds"] > 15
    text = await (await web.client.get("/metrics")).text()
    assert 'smsgw_host_alive{host="a"} 0.0' in text
    assert 'smsgw_host_alive{host="b"} 1.0' in text
    assert 'smsgw_host_takeovers{host="a"} 1.0' in text
    assert 'smsgw_host_in_flight_parts{host="b"} 1.0' in text
    assert 'smsgw_host_modems{host="a"} 2.0' in text
    assert re.search(r'smsgw_host_lease_renewed_seconds_ago\{host="b"\} [0-9.e+-]+', text)
