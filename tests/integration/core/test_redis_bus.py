"""The Redis bus against a real Redis: delivery between processes' buses, and reconnection
after its own listener connection (found by its client name) is killed."""

import asyncio
import os
import secrets

import redis.asyncio as redis_asyncio
from structlog.testing import capture_logs

from gatewayd.bus import EVENTS, RedisBus
from tests.integration.core_flow.harness import eventually

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


async def pubsub_clients(admin: redis_asyncio.Redis, name: str) -> list[str]:
    """Ids of the pub/sub connections named ``name`` (the bus's listener)."""
    clients = await admin.client_list(_type="pubsub")
    return [str(c["id"]) for c in clients if c.get("name") == name]


async def test_listener_reconnects_after_its_connection_is_killed() -> None:
    name = f"bus-test-{secrets.token_hex(4)}"
    bus = RedisBus(f"{REDIS_URL}?client_name={name}")
    admin = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        sub = bus.subscribe(EVENTS)
        await wait_until_subscribed(bus, EVENTS, {"warmup": 1})
        [listener] = await pubsub_clients(admin, name)
        with capture_logs() as logs:
            killed = await admin.execute_command("CLIENT", "KILL", "ID", listener)
            assert killed == 1, "CLIENT KILL closed nothing: the reconnect path would not run"

            async def listening_again() -> list[str] | None:
                return await pubsub_clients(admin, name) if bus.healthy else None

            [again] = await eventually(
                listening_again, timeout=15, what="the bus to subscribe again"
            )
        events = [e["event"] for e in logs if e["event"].startswith("Redis bus")]
        assert events == ["Redis bus unavailable", "Redis bus connected"]
        assert again != listener
        assert listener not in {str(c["id"]) for c in await admin.client_list()}
        async with asyncio.timeout(15):
            while True:
                await admin.publish(EVENTS, '{"after": "kill"}')
                if await sub.get(0.2) == {"after": "kill"}:
                    break
        assert bus.healthy
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


async def test_nothing_is_lost_while_new_channels_are_subscribed() -> None:
    """A subscription to a new channel joins the open connection: a message published on a
    channel already subscribed is heard even while others are being added."""
    sender, receiver = RedisBus(REDIS_URL), RedisBus(REDIS_URL)
    try:
        sub = receiver.subscribe(EVENTS)
        await wait_until_subscribed(receiver, EVENTS, {"warmup": 1})
        for n in range(20):
            receiver.subscribe(f"smsgw:test:{secrets.token_hex(4)}")
            await sender.publish(EVENTS, {"n": n})
        heard = []
        async with asyncio.timeout(5):
            while len(heard) < 20:
                message = await sub.get()
                if message is not None and "n" in message:
                    heard.append(message["n"])
        assert heard == list(range(20))
    finally:
        await sender.close()
        await receiver.close()
