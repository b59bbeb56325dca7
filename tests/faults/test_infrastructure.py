"""PostgreSQL crashed and restarted, Redis killed, restarted and flushed, in the middle of a run.

Both run on private servers (tests.support.services) so the shared ones are never touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import aiohttp
import redis

from gatewayd.queue import NewMessage
from gatewayd.store import Database
from tests.faults.conftest import report_figures
from tests.peers.helpers import Simulator, wait_until, wait_until_async
from tests.support.audit import audit_database
from tests.support.daemons import (
    DaemonProcess,
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
from tests.support.services import PrivatePostgres, PrivateRedis

SECRET = "faults-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


async def wait_ledger(simulator: Simulator, count: int, output: Callable[[], str]) -> None:
    def reached() -> bool:
        return len(simulator.ledger()) >= count

    await wait_until(reached, timeout=120, what=f"{count} parts on the ledger", diagnostics=output)


async def wait_settled(db: Database, simulator: Simulator, daemon: DaemonProcess) -> None:
    async def settled() -> bool:
        return not (await audit_database(db, simulator.ledger())).unsettled

    await wait_until_async(
        settled, timeout=120, what="every message settled", diagnostics=daemon.output
    )


async def test_postgres_crash_and_restart_mid_run(four_modems: Simulator, tmp_path: Path) -> None:
    with PrivatePostgres() as server:
        url = server.create_database("sms_gateway")
        env = {"SMSGW_DATABASE_URL": url}
        await run_migrate(env)
        db = Database(url)
        config = gateway_config(tmp_path / "gatewayd.toml", four_modems.modems)
        daemon = gateway_process(config, tmp_path, env)
        try:
            news = [NewMessage(external_number(i), f"pg-{i}") for i in range(600)]
            await enqueue_many(db, news)
            await daemon.start()
            await wait_ledger(four_modems, 150, daemon.output)
            await asyncio.to_thread(server.stop, "immediate")
            at_crash = len(four_modems.ledger())
            await asyncio.sleep(3)  # the outage itself: gatewayd must ride it out
            during = len(four_modems.ledger()) - at_crash
            await asyncio.to_thread(server.start)
            await db.close()
            await wait_settled(db, four_modems, daemon)
            assert daemon.running, "gatewayd survived the database outage"
            audit = await audit_database(db, four_modems.ledger())
            report_figures("postgres_restart", {"sent_during_outage": during, **audit.figures()})
            audit.assert_clean()
            assert audit.messages == 600
            assert during <= len(four_modems.modems), "no sends without the database"
        finally:
            await daemon.stop()
            await db.close()


async def test_redis_killed_restarted_and_flushed_mid_run(
    pg_url: str, four_modems: Simulator, tmp_path: Path
) -> None:
    with PrivateRedis() as private_redis:
        port = free_port()
        env = {
            "SMSGW_DATABASE_URL": pg_url,
            "SMSGW_REDIS_URL": private_redis.url,
            "SMSGW_SECRET_KEY": SECRET,
            "SMSGW_LISTEN": f"127.0.0.1:{port}",
        }
        db = Database(pg_url)
        config = gateway_config(tmp_path / "gatewayd.toml", four_modems.modems, poll_interval=1.0)
        daemon = gateway_process(config, tmp_path, env)
        web = webui_process(tmp_path, env)
        base = f"http://127.0.0.1:{port}"
        try:
            key = await create_api_key(env, "faults")
            await daemon.start()
            await web.start()
            await wait_http_ok(f"{base}/api/health")
            headers = {"Authorization": f"Bearer {key}"}
            sent: list[int] = []
            async with aiohttp.ClientSession(headers=headers) as http:

                async def post(first: int, count: int) -> None:
                    body = {
                        "to": [external_number(i) for i in range(first, first + count)],
                        "text": f"redis-{first}",
                    }
                    async with http.post(f"{base}/api/v1/messages", json=body) as answer:
                        assert answer.status == 202, await answer.text()
                        sent.extend(m["id"] for m in (await answer.json())["messages"])

                await post(0, 100)
                await wait_ledger(four_modems, 20, daemon.output)
                private_redis.kill()
                await post(100, 100)  # Redis down: accepted all the same, polled up
                await asyncio.sleep(1)
                private_redis.start()
                redis.Redis.from_url(private_redis.url).flushall()
                await post(200, 100)
                await wait_ledger(four_modems, 300, daemon.output)
                async with http.get(f"{base}/api/health") as health:
                    assert health.status == 200
            await wait_settled(db, four_modems, daemon)
            audit = await audit_database(db, four_modems.ledger())
            report_figures("redis_restart", audit.figures())
            audit.assert_clean()
            assert audit.messages == len(sent) == 300
            assert daemon.running and web.running
            assert not [e for e in web.log_events() if e.get("level") in ("error", "critical")]
        finally:
            await web.stop()
            await daemon.stop()
            await db.close()
