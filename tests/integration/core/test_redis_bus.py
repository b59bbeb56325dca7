"""The Redis bus against a real Redis: delivery between processes' buses and reconnection."""

import asyncio
import os

import redis.asyncio as redis_asyncio

from gatewayd.bus import EVENTS, RedisBus

REDIS_URL = os.environ.get("SMSGW_TEST_REDIS_SERVER", "redis://127.0.0.1:6379").rstrip("/") + "/0"


async def wait_until_subscribed(bus: RedisBus, channel: str, marker: dict[str, int]) -> None:
    sub = bus.subscribe(channel)
    async with asyncio.timeout(10):
        while True:
            await bus.publish(channel, marker)
            if await sub.get(0.05) == marker:
                bus.unsubscribe(sub)
                return


async def test_message_published_by_one_bus_reaches_another() -> None:
    sender, receiver = RedisBus(REDIS_URL), RedisBus(REDIS_URL)
    try:
        sub = receiver.subscribe(EVENTS)
        await wait_until_subscribed(receiver, EVENTS, {"warmup": 1})
        await sender.publish(EVENTS, {"type": "message.status", "id": 42})
        async with asyncio.timeout(5):
            while (msg := await sub.get()) != {"type": "message.status", "id": 42}:
                assert msg is not None
        assert receiver.healthy
    finally:
        await sender.close()
        await receiver.close()


async def test_listener_reconnects_after_its_connection_is_killed() -> None:
    bus = RedisBus(REDIS_URL)
    admin = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        sub = bus.subscribe(EVENTS)
        await wait_until_subscribed(bus, EVENTS, {"warmup": 1})
        await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        await admin.flushdb()
        async with asyncio.timeout(15):
            while True:
                await admin.publish(EVENTS, '{"after": "kill"}')
                if await sub.get(0.2) == {"after": "kill"}:
                    break
    finally:
        await admin.aclose()
        await bus.close()


async def test_publish_to_unreachable_redis_degrades_without_raising() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0")
    try:
        sub = bus.subscribe(EVENTS)
        await bus.publish(EVENTS, {"still": "local"})
        assert await sub.get(1) == {"still": "local"}
        assert not bus.healthy
    finally:
        await bus.close()
