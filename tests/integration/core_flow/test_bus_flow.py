"""The gateway with a real Redis bus: wake-ups travel through Redis, and a Redis that is
flushed and then dies mid-run costs nothing but a poll interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio

from gatewayd.bus import RedisBus
from gatewayd.events import WAKE, WakeUp
from gatewayd.queue import NewMessage
from tests.integration.core_flow.harness import eventually, flow, ledger_counts
from tests.support.ports import free_port
from tests.support.tools import require_program


def numbered(i: int) -> str:
    return f"+55119876{50000 + i:05d}"


async def wake_subscribers(url: str) -> int:
    client = redis_asyncio.Redis.from_url(url)
    try:
        [(_, count)] = await client.pubsub_numsub(WAKE.name)
        return int(count)
    finally:
        await client.aclose()


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """A redis-server of this test's own, which the test may flush and kill."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        require_program("redis-server"),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"

    async def answers() -> bool:
        client = redis_asyncio.Redis.from_url(url, socket_connect_timeout=0.5)
        try:
            return bool(await client.ping())
        except (OSError, redis_asyncio.RedisError):
            return False
        finally:
            await client.aclose()

    try:
        await eventually(answers, timeout=10, what="redis-server to answer")
        yield url, process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_wakeups_travel_through_redis(pg_url: str, redis_url: str, tmp_path: Path) -> None:
    bus = RedisBus(redis_url)
    publisher = RedisBus(redis_url)
    try:
        async with flow(pg_url, tmp_path, modems=1, bus=bus, poll_interval=30.0) as f:
            await eventually(
                lambda: wake_subscribers(redis_url), timeout=10, what="gatewayd subscribed"
            )
            ids = await f.send(NewMessage(numbered(1), "woken"), wake=False)
            started = time.monotonic()
            await publisher.publish(WAKE, WakeUp(reason="queued"))
            await f.network.wait_for_ledger(1, timeout=5)
            woken_in = time.monotonic() - started
            await f.wait_status(ids, "delivered")
    finally:
        await publisher.close()
    assert woken_in < 5, "sent on the Redis wake-up, not on the 30 s poll"


async def test_redis_flushed_then_gone_loses_nothing(
    pg_url: str, private_redis: tuple[str, asyncio.subprocess.Process], tmp_path: Path
) -> None:
    url, server = private_redis
    bus = RedisBus(url)
    publisher = RedisBus(url)
    try:
        async with flow(pg_url, tmp_path, bus=bus, poll_interval=0.5) as f:
            await eventually(lambda: wake_subscribers(url), timeout=10, what="subscribed")

            async def batch(tag: str) -> list[int]:
                news = [NewMessage(numbered(i), f"{tag}{i}") for i in range(10)]
                ids = await f.send(*news, wake=False)
                await publisher.publish(WAKE, WakeUp(reason="queued"))
                return ids

            ids = await batch("before")
            await f.wait_status(ids, "delivered")
            admin = redis_asyncio.Redis.from_url(url)
            await admin.flushall()
            await admin.aclose()
            ids += await batch("flushed")
            await f.wait_status(ids, "delivered")
            server.kill()
            await server.wait()
            ids += await batch("gone")
            await f.wait_status(ids, "delivered", timeout=20)
            assert not bus.healthy
    finally:
        await publisher.close()
    counts = ledger_counts(f.network.ledger)
    assert len(counts) == 30 and set(counts.values()) == {1}
