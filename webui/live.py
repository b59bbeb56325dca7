"""Live events for browsers: ``GET /events`` streams the bus channel ``EVENTS`` as
Server-Sent Events.

Each bus event becomes one SSE message whose ``event`` is the event's ``type``
(``message.status``, ``message.received``, ``modem.state``) and whose ``data`` is the event as
JSON. aiohttp-sse pings idle streams so proxies keep them open. Streams end when the application
shuts down, so a stop never waits on open browser tabs.
"""

from __future__ import annotations

import contextlib
import json

from aiohttp import web
from aiohttp_sse import sse_response

from gatewayd.bus import EVENTS, Subscription
from webui.keys import BUS

CHECK_SECONDS = 5.0
"""How often an idle stream checks that its browser is still there (the library pings)."""
RETRY_MILLISECONDS = 3000
LIVE_EVENT_TYPES = frozenset({"message.status", "message.received", "modem.state"})
STOP = {"type": "live.stop"}

SUBSCRIPTIONS: web.AppKey[set[Subscription]] = web.AppKey("live_subscriptions", set)


async def events(request: web.Request) -> web.StreamResponse:
    bus = request.app[BUS]
    subscription = bus.subscribe(EVENTS)
    request.app[SUBSCRIPTIONS].add(subscription)
    try:
        async with sse_response(request, headers={"X-Accel-Buffering": "no"}) as stream:
            await stream.send("hello", event="ready", retry=RETRY_MILLISECONDS)
            while stream.is_connected():
                event = await subscription.get(timeout=CHECK_SECONDS)
                if event is STOP:
                    break
                kind = event.get("type") if event is not None else None
                if kind in LIVE_EVENT_TYPES:
                    with contextlib.suppress(ConnectionResetError):
                        await stream.send(json.dumps(event, default=str), event=str(kind))
            return stream
    finally:
        request.app[SUBSCRIPTIONS].discard(subscription)
        bus.unsubscribe(subscription)


async def _on_shutdown(app: web.Application) -> None:
    subscriptions: set[Subscription] = app[SUBSCRIPTIONS]
    for subscription in subscriptions.copy():
        subscription.deliver(STOP)


def register(app: web.Application) -> None:
    subscriptions: set[Subscription] = set()
    app[SUBSCRIPTIONS] = subscriptions
    app.on_shutdown.append(_on_shutdown)
    app.router.add_get("/events", events, name="events")
