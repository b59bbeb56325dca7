from gatewayd.bus import EVENTS, WAKE, InProcessBus


async def test_in_process_bus_fans_out_to_subscribers_of_the_channel() -> None:
    bus = InProcessBus()
    wake = bus.subscribe(WAKE)
    events_a = bus.subscribe(EVENTS)
    events_b = bus.subscribe(EVENTS)
    await bus.publish(EVENTS, {"type": "message.status", "id": 1})
    assert await events_a.get(1) == {"type": "message.status", "id": 1}
    assert await events_b.get(1) == {"type": "message.status", "id": 1}
    assert await wake.get(0.01) is None


async def test_lagging_subscriber_keeps_the_newest_messages() -> None:
    bus = InProcessBus()
    sub = bus.subscribe(WAKE)
    for i in range(1005):
        await bus.publish(WAKE, {"n": i})
    first = await sub.get(1)
    assert first == {"n": 5}


async def test_unsubscribed_reader_hears_nothing() -> None:
    bus = InProcessBus()
    sub = bus.subscribe(WAKE)
    bus.unsubscribe(sub)
    await bus.publish(WAKE, {"n": 1})
    assert await sub.get(0.01) is None
