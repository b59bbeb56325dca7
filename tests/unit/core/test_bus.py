import asyncio
from datetime import UTC, datetime

from gatewayd.bus import InProcessBus
from gatewayd.events import EVENTS, WAKE, MessageStatusChanged, WakeUp

STATUS = MessageStatusChanged(id=1, status="sent", error=None, at=datetime(2026, 1, 2, tzinfo=UTC))


async def test_in_process_bus_fans_out_to_subscribers_of_the_channel() -> None:
    bus = InProcessBus()
    wake = bus.subscribe(WAKE)
    events_a = bus.subscribe(EVENTS)
    events_b = bus.subscribe(EVENTS)
    await bus.publish(EVENTS, STATUS)
    assert await events_a.get(1) == STATUS
    assert await events_b.get(1) == STATUS
    assert await wake.get(0.01) is None


async def test_lagging_subscriber_keeps_the_newest_messages() -> None:
    bus = InProcessBus()
    sub = bus.subscribe(WAKE)
    for i in range(1005):
        await bus.publish(WAKE, WakeUp.queued(i))
    first = await sub.get(1)
    assert first == WakeUp.queued(5)


async def test_unsubscribed_reader_hears_nothing() -> None:
    bus = InProcessBus()
    sub = bus.subscribe(WAKE)
    bus.unsubscribe(sub)
    await bus.publish(WAKE, WakeUp.queued(1))
    assert await sub.get(0.01) is None


async def test_an_ended_subscription_stops_its_reader_at_once() -> None:
    bus = InProcessBus()
    sub = bus.subscribe(WAKE)
    await bus.publish(WAKE, WakeUp.queued(1))
    sub.end("shutdown")
    sub.end("later reason")
    await bus.publish(WAKE, WakeUp.queued(2))
    assert sub.ended == "shutdown"
    assert await sub.get(1) is None
    assert [wake async for wake in sub] == []


async def test_an_ended_subscription_wakes_a_waiting_reader() -> None:
    bus = InProcessBus()
    sub = bus.subscribe(EVENTS)
    reader = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    sub.end("session.ended")
    async with asyncio.timeout(1):
        assert await reader is None
    assert sub.ended == "session.ended"
