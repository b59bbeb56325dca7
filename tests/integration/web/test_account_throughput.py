"""Throughput limits shared through a real Redis: two processes (and two services with their
own connections) draw on one budget per account, a batch bigger than the burst leaves a debt
every process sees, and with Redis unreachable each process falls back on its own bucket
instead of refusing everything."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from sqlalchemy import insert

from gatewayd.store import Database, accounts, utc_now
from tests.integration.web.conftest import LogCapture
from tests.support.ports import free_port
from webui.auth.passwords import UNLIMITED
from webui.auth.throttle import ThrottlePolicy
from webui.services.accounts import Accounts
from webui.services.errors import Throttled
from webui.services.throughput import RedisBuckets

CHILD = """
import asyncio, sys
from webui.services.throughput import RedisBuckets

async def main():
    buckets = RedisBuckets(sys.argv[1])
    waits = [await buckets.take(int(sys.argv[2]), 10.0, 1) for _ in range(10)]
    waits.append(await buckets.take(int(sys.argv[2]), 10.0, 1))
    await buckets.close()
    print(sum(1 for w in waits if w == 0))

asyncio.run(main())
"""


async def test_two_processes_share_one_budget(redis_url: str) -> None:
    started = time.monotonic()
    child = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", CHILD, redis_url, "41"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "10"  # the burst of 10 in a row, then refused

    here = RedisBuckets(redis_url)
    try:
        debt = await here.take(41, 10.0, 100)  # needs a full bucket: the child emptied it
        elapsed = time.monotonic() - started
        assert max(0.0, 1.0 - elapsed) <= debt <= 1.0
        assert await here.take(42, 10.0, 10) == 0.0  # another account has its own budget
    finally:
        await here.close()


async def test_a_batch_larger_than_the_burst_leaves_a_debt_everyone_sees(redis_url: str) -> None:
    first, second = RedisBuckets(redis_url), RedisBuckets(redis_url)
    try:
        assert await first.take(7, 2.0, 50) == 0.0  # full bucket: admitted, 48 in debt
        wait = await second.take(7, 2.0, 1)
        assert 24.0 <= wait <= 24.6  # (48 + 1) / 2, less what refilled meanwhile
        await first.give_back(7, 2.0, 50)
        assert await second.take(7, 2.0, 2) == 0.0
    finally:
        await first.close()
        await second.close()


async def test_two_services_on_one_database_and_redis_admit_one_budget(
    db: Database, redis_url: str
) -> None:
    async with db.begin() as conn:
        account_id = (
            await conn.execute(
                insert(accounts)
                .values(name="x", name_key="x", tps=5.0, created_at=utc_now(), created_by="t")
                .returning(accounts.c.id)
            )
        ).scalar_one()
    services = [
        Accounts(db, UNLIMITED, ThrottlePolicy(), RedisBuckets(redis_url)) for _ in range(2)
    ]
    try:
        account = await services[0].get(account_id)
        started = time.monotonic()

        async def one(n: int) -> bool:
            try:
                await services[n % 2].admit(account, 1)
            except Throttled:
                return False
            return True

        admitted = sum(await asyncio.gather(*(one(n) for n in range(20))))
        allowed = 5 + (time.monotonic() - started) * 5
        assert 5 <= admitted <= allowed
    finally:
        for service in services:
            await service.close()


async def test_without_redis_each_process_keeps_its_own_limit(log_capture: LogCapture) -> None:
    dead = RedisBuckets(f"redis://127.0.0.1:{free_port()}/0")
    try:
        assert await dead.take(3, 1.0, 1) == 0.0
        assert await dead.take(3, 1.0, 1) > 0
    finally:
        await dead.close()
    warned = log_capture.events("Throughput limits kept per process: Redis unreachable")
    assert len(warned) == 1
