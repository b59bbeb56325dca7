"""Two gatewayd hosts on one PostgreSQL, each with two simulated modems, and one of them lost:
killed for good (kill -9, never restarted), or cut off from PostgreSQL by a TCP proxy that
the test stops and starts (a network partition), then back.

Ground truth is the simulator's ledger (:mod:`tests.support.audit`): no part sent twice, none
lost, nothing left ``sending`` or ``queued``; the survivor takes the lost host's work over
within one lease period of its expiry, says so (log, ``host_takeovers``, audit log, a
``host.taken_over`` event on the bus), and a partitioned host writes nothing to its modems
once its lease could have run out, and rejoins with a new epoch when the link is back.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.engine import make_url

from gatewayd.queue import NewMessage
from gatewayd.store import Database, audit_log, gateway_hosts, host_takeovers
from tests.faults.conftest import report_figures
from tests.peers.helpers import Simulator, start_simulator, wait_until, wait_until_async
from tests.support.audit import Audit, audit_database
from tests.support.daemons import (
    DaemonProcess,
    enqueue_many,
    external_number,
    gateway_config,
    gateway_process,
)
from tests.support.services import PrivateRedis
from tests.support.tcp_proxy import PartitionProxy

LEASE = {"expiry": 6.0, "renew_interval": 1.0, "safety_margin": 1.5}
"""Short enough for a test; the argument is the same at the default 20 / 5 / 3 s."""
A_MODEMS = (0, 1)
MESSAGES = 600


@pytest.fixture
async def four_slow_modems(tmp_path: Path) -> AsyncIterator[Simulator]:
    """Four modems on one simulated network, 40 ms a part: a run lasts long enough to lose a
    host in the middle of it."""
    running = await start_simulator(
        tmp_path / "simulator", modems=4, latency_ms=40, report_delay_ms=100
    )
    try:
        yield running
    finally:
        await running.process.stop()


@pytest.fixture
async def private_redis() -> AsyncIterator[PrivateRedis]:
    with PrivateRedis() as server:
        yield server


@dataclass
class BusEvents:
    """What gatewayd hosts publish on ``smsgw:events``, heard by the test."""

    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        await pubsub.subscribe("smsgw:events")

        async def listen() -> None:
            try:
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self.seen.append(json.loads(message["data"]))
            finally:
                await pubsub.aclose()
                await client.aclose()

        self.task = asyncio.create_task(listen())

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.seen if event.get("type") == kind]

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


def via(url: str, port: int) -> str:
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


@dataclass
class Hosts:
    a: DaemonProcess
    b: DaemonProcess
    db: Database
    simulator: Simulator
    events: BusEvents

    def output(self) -> str:
        return f"--- host a\n{self.a.output()}\n--- host b\n{self.b.output()}"

    async def wait_ledger(self, count: int) -> None:
        def reached() -> bool:
            return len(self.simulator.ledger()) >= count

        await wait_until(
            reached, timeout=120, what=f"{count} parts on the ledger", diagnostics=self.output
        )

    async def takeover_row(self) -> Any:
        async def found() -> Any:
            async with self.db.read() as conn:
                return (await conn.execute(select(host_takeovers))).first()

        return await wait_until_async(
            found, timeout=60, what="the takeover of host a", diagnostics=self.output
        )

    async def settled(self, *, timeout: float = 120) -> tuple[Audit, float]:
        """Wait until no message is queued or sending; the audit and when that was."""

        async def done() -> Audit | None:
            audit = await audit_database(self.db, self.simulator.ledger())
            return None if audit.unsettled else audit

        audit = await wait_until_async(
            done, timeout=timeout, what="every message settled", diagnostics=self.output
        )
        return audit, time.time()

    def a_ledger_after(self, moment: float) -> list[dict[str, Any]]:
        return [
            entry
            for entry in self.simulator.ledger()
            if entry["modem"] in A_MODEMS
            and datetime.fromisoformat(entry["at"]).timestamp() > moment
        ]


async def start_hosts(
    tmp_path: Path, simulator: Simulator, pg_url: str, redis_url: str, *, a_url: str
) -> Hosts:
    modems = simulator.modems
    a_modems = [m for m in modems if m.index in A_MODEMS]
    b_modems = [m for m in modems if m.index not in A_MODEMS]
    processes = []
    for name, chosen, url in (("a", a_modems, a_url), ("b", b_modems, pg_url)):
        work = tmp_path / f"host-{name}"
        config = gateway_config(
            work / "gatewayd.toml", chosen, host=f"host-{name}", poll_interval=0.2, lease=LEASE
        )
        env = {"SMSGW_DATABASE_URL": url, "SMSGW_REDIS_URL": redis_url}
        processes.append(gateway_process(config, work, env))
    events = BusEvents(redis_url)
    await events.start()
    hosts = Hosts(processes[0], processes[1], Database(pg_url), simulator, events)
    for process in processes:
        await process.start()
    for process in processes:
        await process.wait_log("gatewayd started", timeout=60)
    return hosts


async def stop_hosts(hosts: Hosts) -> None:
    for process in (hosts.a, hosts.b):
        if process.running:
            await process.stop()
    await hosts.events.stop()
    await hosts.db.close()


async def test_host_killed_for_good(
    pg_url: str, four_slow_modems: Simulator, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    hosts = await start_hosts(tmp_path, four_slow_modems, pg_url, private_redis.url, a_url=pg_url)
    try:
        news = [NewMessage(external_number(i), f"kill-for-good-{i}") for i in range(MESSAGES)]
        await enqueue_many(hosts.db, news)
        await hosts.wait_ledger(100)
        assert hosts.a_ledger_after(0), "host a was sending before it was killed"
        await hosts.a.kill9()
        killed_at = time.time()
        row = await hosts.takeover_row()
        await hosts.b.wait_log("Took over the work of a host whose lease expired", timeout=30)
        audit, settled_at = await hosts.settled()
        taken_after = row.at.timestamp() - killed_at
        figures = {
            "lease": LEASE,
            "seconds_to_takeover": round(taken_after, 2),
            "seconds_to_settle": round(settled_at - killed_at, 2),
            "delivered": audit.statuses.get("delivered", 0),
            "sent_waiting_for_report": audit.statuses.get("sent", 0),
            "unknown_parts": audit.unknown_parts,
            "unknown_parts_on_ledger": audit.unknown_parts_sent,
            "sent_twice": len(audit.duplicated),
            "takeover": {
                "unknown_parts": row.unknown_parts,
                "requeued": row.requeued_messages,
                "waiting": row.waiting,
            },
            **audit.figures(),
        }
        report_figures("host_killed_for_good", figures)
        audit.assert_clean()
        assert audit.messages == MESSAGES
        assert audit.duplicated == []
        # What host a had in hand when it died: at most two parts per modem (the one on the
        # wire and one prepared) are unknown; every other message was sent by host b.
        assert audit.unknown_parts <= 2 * len(A_MODEMS), audit.figures()
        assert row.host == "host-a" and row.by_host == "host-b"
        assert row.unknown_parts == audit.unknown_parts
        # Taken over within one lease period of the expiry (which is at most one lease
        # period after the kill).
        assert taken_after <= 2 * LEASE["expiry"], taken_after
        async with hosts.db.read() as conn:
            state = (
                await conn.execute(
                    select(gateway_hosts.c.state).where(gateway_hosts.c.host == "host-a")
                )
            ).scalar_one()
            audited = (
                await conn.execute(select(audit_log).where(audit_log.c.action == "host.taken_over"))
            ).one()
        assert state == "taken_over"
        assert (audited.actor, audited.target) == ("gatewayd:host-b", "host:host-a")
        [event] = hosts.events.of("host.taken_over")
        assert (event["host"], event["by"]) == ("host-a", "host-b")
        assert event["unknown_parts"] == row.unknown_parts
    finally:
        await stop_hosts(hosts)


async def test_host_partitioned_then_back(
    pg_url: str, four_slow_modems: Simulator, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    upstream = make_url(pg_url)
    proxy = await PartitionProxy(upstream.host or "127.0.0.1", upstream.port or 5432).start()
    hosts = await start_hosts(
        tmp_path, four_slow_modems, pg_url, private_redis.url, a_url=via(pg_url, proxy.port)
    )
    try:
        news = [NewMessage(external_number(i), f"partition-{i}") for i in range(MESSAGES)]
        await enqueue_many(hosts.db, news)
        await hosts.wait_ledger(100)
        assert hosts.a_ledger_after(0), "host a was sending before the partition"
        proxy.cut()
        cut_at = time.time()
        row = await hosts.takeover_row()
        taken_at = row.at.timestamp()
        # Fenced: host a wrote nothing to its modems after its lease could have run out, so
        # nothing after the takeover either.
        fence_closed_by = cut_at + LEASE["expiry"] - LEASE["safety_margin"]
        assert hosts.a_ledger_after(fence_closed_by) == []
        assert hosts.a_ledger_after(taken_at) == []
        await hosts.a.wait_log("Lease renewal failed; modems stop unless it succeeds in time")
        # Held apart a little longer, then the link is back.
        await hosts.b.wait_log("Took over the work of a host whose lease expired")
        sent_by_a_while_cut = len(hosts.a_ledger_after(cut_at))
        proxy.restore()
        restored_at = time.time()
        await hosts.a.wait_log(
            "Lease lost: another host took over this host's work; rejoining with a new epoch",
            timeout=60,
        )
        await hosts.a.wait_log("Rejoined with a new lease epoch", timeout=60)
        more = [NewMessage(external_number(i), f"after-partition-{i}") for i in range(200)]
        await enqueue_many(hosts.db, more)
        audit, settled_at = await hosts.settled()

        def a_sent_again() -> bool:
            return bool(hosts.a_ledger_after(restored_at))

        await wait_until(
            a_sent_again, timeout=60, what="host a sending again", diagnostics=hosts.output
        )
        async with hosts.db.read() as conn:
            lease = (
                await conn.execute(
                    select(gateway_hosts.c.state, gateway_hosts.c.epoch).where(
                        gateway_hosts.c.host == "host-a"
                    )
                )
            ).one()
        figures = {
            "lease": LEASE,
            "seconds_to_takeover": round(taken_at - cut_at, 2),
            "seconds_to_settle": round(settled_at - cut_at, 2),
            "a_parts_while_cut": sent_by_a_while_cut,
            "a_parts_after_takeover": len(hosts.a_ledger_after(taken_at))
            - len(hosts.a_ledger_after(restored_at)),
            "delivered": audit.statuses.get("delivered", 0),
            "unknown_parts": audit.unknown_parts,
            "unknown_parts_on_ledger": audit.unknown_parts_sent,
            "sent_twice": len(audit.duplicated),
            "a_epoch_after": lease.epoch,
            **audit.figures(),
        }
        report_figures("host_partitioned_then_back", figures)
        audit.assert_clean()
        assert audit.messages == MESSAGES + 200
        assert audit.duplicated == []
        assert audit.unknown_parts <= 2 * len(A_MODEMS), audit.figures()
        assert taken_at - cut_at <= 2 * LEASE["expiry"]
        assert (lease.state, lease.epoch) == ("running", 2)  # rejoined with a new epoch
        assert [e["epoch"] for e in hosts.events.of("host.rejoined")] == [2]
    finally:
        await stop_hosts(hosts)
        await proxy.close()
