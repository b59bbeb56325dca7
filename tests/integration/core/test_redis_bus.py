"""The Redis bus against a real Redis: delivery between processes' buses, and reconnection
after its own listener connection (found by its client name) is killed."""

import asyncio
import json
import os
import secrets
from datetime import UTC, datetime

import redis.asyncio as redis_asyncio
from structlog.testing import capture_logs

from gatewayd.bus import RedisBus
from gatewayd.events import (
    EVENTS,
    LIVE_KINDS,
    Channel,
    LiveEvent,
    MessageStatusChanged,
    ModemState,
    to_wire,
)
from tests.integration.core_flow.harness import eventually

REDIS_URL = os.environ.get("SMSGW_TEST_REDIS_SERVER", "redis://127.0.0.1:6379").rstrip("/") + "/0"
WARMUP = ModemState(name="warmup", state="online")


def status(message_id: int) -> MessageStatusChanged:
    return MessageStatusChanged(
        id=message_id, status="sent", error=None, at=datetime(2026, 1, 2, tzinfo=UTC)
    )


async def wait_until_subscribed(
    bus: RedisBus, channel: Channel[LiveEvent], marker: LiveEvent
) -> None:
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
        await wait_until_subscribed(receiver, EVENTS, WARMUP)
        await sender.publish(EVENTS, status(42))
        async with asyncio.timeout(5):
            while (msg := await sub.get()) != status(42):
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
        await wait_until_subscribed(bus, EVENTS, WARMUP)
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
                await admin.publish(EVENTS.name, json.dumps(to_wire(status(7))))
                if await sub.get(0.2) == status(7):
                    break
        assert bus.healthy
    finally:
        await admin.aclose()
        await bus.close()


async def test_publish_to_unreachable_redis_degrades_without_raising() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0")
    try:
        sub = bus.subscribe(EVENTS)
        await bus.publish(EVENTS, status(1))
        assert await sub.get(1) == status(1)
        assert not bus.healthy
    finally:
        await bus.close()


async def test_nothing_is_lost_while_new_channels_are_subscribed() -> None:
    """A subscription to a new channel joins the open connection: a message published on a
    channel already subscribed is heard even while others are being added."""
    sender, receiver = RedisBus(REDIS_URL), RedisBus(REDIS_URL)
    try:
        sub = receiver.subscribe(EVENTS)
        await wait_until_subscribed(receiver, EVENTS, WARMUP)
        for n in range(20):
            receiver.subscribe(Channel(f"smsgw:test:{secrets.token_hex(4)}", LIVE_KINDS))
            await sender.publish(EVENTS, status(n))
        heard = []
        async with asyncio.timeout(5):
            while len(heard) < 20:
                message = await sub.get()
                if isinstance(message, MessageStatusChanged):
                    heard.append(message.id)
        assert heard == list(range(20))
    finally:
        await sender.close()
        await receiver.close()


async def test_what_is_not_an_event_of_the_channel_is_logged_and_skipped() -> None:
    """A consumer never sees a malformed, unknown or other-version message: the bus logs why
    and hands on the next good one."""
    bus = RedisBus(REDIS_URL)
    admin = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        sub = bus.subscribe(EVENTS)
        await wait_until_subscribed(bus, EVENTS, WARMUP)
        bad = [
            "not json",
            "[1, 2]",
            '{"type": "message.exploded", "id": 1}',
            json.dumps({**to_wire(status(1)), "version": 2}),
            json.dumps({**to_wire(status(1)), "id": "1"}),
            '{"type": "wake", "reason": "queued"}',
        ]
        with capture_logs() as logs:
            for raw in bad:
                await admin.publish(EVENTS.name, raw)
            await admin.publish(EVENTS.name, json.dumps(to_wire(status(2))))
            async with asyncio.timeout(5):
                while (heard := await sub.get()) == WARMUP:
                    pass
            assert heard == status(2)
        ignored = [e for e in logs if e["event"] == "Ignored malformed bus message"]
        assert [e["channel"] for e in ignored] == [EVENTS.name] * len(bad)
        reasons = [e["reason"] for e in ignored]
        assert reasons[:2] == ["not JSON", "not a JSON object but list"]
        assert "unknown event type 'message.exploded'" in reasons[2]
        assert "version 2" in reasons[3]
        assert "'id' is not an integer" in reasons[4]
        assert "unknown event type 'wake'" in reasons[5]
    finally:
        await admin.aclose()
        await bus.close()
