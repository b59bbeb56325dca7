"""A PostgreSQL primary failover under traffic: two private clusters on this machine, the
second a synchronous streaming replica of the first (``pg_basebackup -R``); two gatewayd hosts
(two simulated modems each) and a web process all given both servers in one URL
(``postgresql://…@p1,p2/sms_gateway``, read-write by default); an API client sending through
the web process while messages queued earlier go out. The primary is crashed
(``pg_ctl stop -m immediate``) mid-run and the replica promoted.

Every message the API acknowledged is there after the failover; every message is sent once or
shown ``unknown``; nothing stays queued or sending; nobody's work was taken over (both hosts
rode the outage out at their own epoch).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from gatewayd.queue import NewMessage
from gatewayd.store import Database, DatabaseUnavailable, gateway_hosts, host_takeovers, messages
from tests.faults.conftest import report_figures
from tests.peers.helpers import Simulator, wait_until, wait_until_async
from tests.support.audit import audit_database
from tests.support.daemons import (
    create_api_key,
    enqueue_many,
    external_number,
    gateway_config,
    gateway_process,
    run_migrate,
    wait_http_ok,
    webui_process,
)
from tests.support.ports import free_port
from tests.support.services import PrivatePostgres, PrivateRedis, PrivateStandby

SECRET = "failover-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123"
LEASE = {"expiry": 6.0, "renew_interval": 1.0, "safety_margin": 1.5}
REPLICATION = {
    "wal_level": "replica",
    "max_wal_senders": "5",
    "hot_standby": "on",
    "synchronous_commit": "on",
}
OUTAGE = LEASE["expiry"] + 2.0
QUEUED = 400
THROUGH_API = 200


async def api_sends(url: str, key: str, acknowledged: dict[int, int]) -> int:
    """``THROUGH_API`` messages, one at a time, each retried with its Idempotency-Key until the
    web process answers 202 (it answers 503 while the database fails over); how many answers
    were not 202."""
    refused = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        for index in range(THROUGH_API):
            body = {"to": external_number(10_000 + index), "text": f"failover-api-{index}"}
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"fo-{index}"}
            deadline = time.monotonic() + 120
            while True:
                try:
                    async with http.post(f"{url}/api/v1/messages", json=body, headers=headers) as a:
                        if a.status in (200, 202):
                            acknowledged[index] = int((await a.json())["id"])
                            break
                        assert a.status == 503, await a.text()
                except (aiohttp.ClientError, TimeoutError):
                    pass
                refused += 1
                assert time.monotonic() < deadline, f"message {index} never accepted"
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.02)
    return refused


async def test_primary_failover_under_traffic(four_modems: Simulator, tmp_path: Path) -> None:
    with PrivatePostgres(REPLICATION) as primary, PrivateRedis() as redis_server:
        primary.create_database("sms_gateway")
        await run_migrate({"SMSGW_DATABASE_URL": primary.url("sms_gateway")})
        with PrivateStandby(primary) as standby:
            await asyncio.to_thread(standby.wait_streaming, sync=False)
            # Synchronous from now on: a commit is acknowledged once the standby has it.
            primary.sql("ALTER SYSTEM SET synchronous_standby_names = 'standby'")
            primary.sql("SELECT pg_reload_conf()")
            await asyncio.to_thread(standby.wait_streaming, sync=True)
            both = (
                f"postgresql://postgres@127.0.0.1:{primary.port},"
                f"127.0.0.1:{standby.port}/sms_gateway"
            )
            await run_failover(both, primary, standby, four_modems, redis_server.url, tmp_path)


async def run_failover(
    url: str,
    primary: PrivatePostgres,
    standby: PrivateStandby,
    simulator: Simulator,
    redis_url: str,
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {"SMSGW_DATABASE_URL": url, "SMSGW_REDIS_URL": redis_url, "SMSGW_SECRET_KEY": SECRET}
    hosts = []
    for name, indexes in (("a", (0, 1)), ("b", (2, 3))):
        chosen = [m for m in simulator.modems if m.index in indexes]
        config = gateway_config(
            tmp_path / name / "gatewayd.toml", chosen, host=f"host-{name}", lease=LEASE
        )
        hosts.append(gateway_process(config, tmp_path / name, env))
    web = webui_process(tmp_path / "web", {**env, "SMSGW_LISTEN": f"127.0.0.1:{port}"})
    db = Database(url)
    acknowledged: dict[int, int] = {}

    def output() -> str:
        return "\n".join(f"--- {p.work_dir.name}\n{p.output()}" for p in (*hosts, web))

    try:
        key = await create_api_key(env, "failover")
        await enqueue_many(
            db, [NewMessage(external_number(i), f"failover-{i}") for i in range(QUEUED)]
        )
        for process in (*hosts, web):
            await process.start()
        await wait_http_ok(f"http://127.0.0.1:{port}/api/health", timeout=60)
        client = asyncio.create_task(api_sends(f"http://127.0.0.1:{port}", key, acknowledged))

        def sent(count: int) -> bool:
            return len(simulator.ledger()) >= count

        await wait_until(lambda: sent(150), timeout=120, what="150 parts sent", diagnostics=output)
        await asyncio.to_thread(primary.stop, "immediate")
        crashed_at = time.time()
        at_crash = len(simulator.ledger())
        # Nobody promotes at once (Patroni waits for its TTL, a person longer): the outage
        # outlasts the leases, and still no host's work may be taken over after it.
        await asyncio.sleep(OUTAGE)
        during = len(simulator.ledger()) - at_crash
        await asyncio.to_thread(standby.promote)
        promoted_at = time.time()
        refused = await client

        async def settled() -> bool:
            try:  # the test's own pool meets the failover too
                audit = await audit_database(db, simulator.ledger())
            except DatabaseUnavailable:
                return False
            return not audit.unsettled and audit.messages == QUEUED + THROUGH_API

        await wait_until_async(
            settled, timeout=180, what="every message settled", diagnostics=output
        )
        settled_at = time.time()
        audit = await audit_database(db, simulator.ledger())
        async with db.read() as conn:
            ids = {
                row.id
                for row in await conn.execute(
                    select(messages.c.id).where(messages.c.id.in_(list(acknowledged.values())))
                )
            }
            takeovers = (
                await conn.execute(select(func.count()).select_from(host_takeovers))
            ).scalar_one()
            epochs = dict(
                (await conn.execute(select(gateway_hosts.c.host, gateway_hosts.c.epoch))).all()
            )
        report_figures(
            "postgres_failover",
            {
                "lease": LEASE,
                "replication": "synchronous, one standby",
                "seconds_crash_to_promoted": round(promoted_at - crashed_at, 2),
                "seconds_to_settle": round(settled_at - crashed_at, 2),
                "api_acknowledged": len(acknowledged),
                "api_answers_refused_meanwhile": refused,
                "acknowledged_missing": len(acknowledged) - len(ids),
                "parts_at_crash": at_crash,
                "parts_sent_without_a_database": during,
                "delivered": audit.statuses.get("delivered", 0),
                "unknown_parts": audit.unknown_parts,
                "sent_twice": len(audit.duplicated),
                "takeovers": takeovers,
                **audit.figures(),
            },
        )
        audit.assert_clean()
        assert len(acknowledged) == THROUGH_API and len(ids) == THROUGH_API, "an ack was lost"
        assert audit.duplicated == []
        assert takeovers == 0 and epochs == {"host-a": 1, "host-b": 1}
        assert all(p.running for p in (*hosts, web)), output()
        assert during <= len(simulator.modems), (
            "sent without a database: at most the parts on the wire"
        )
        for process in (*hosts, web):
            assert not process.log_events("Unhandled error"), process.work_dir
    finally:
        for process in (*hosts, web):
            await process.stop()
        await db.close()
