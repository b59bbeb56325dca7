"""Live events for browsers: ``GET /events`` streams the bus channel
:data:`~gatewayd.events.EVENTS` as Server-Sent Events, for as long as the session (or API key)
that opened it holds.

Each live event of :data:`~gatewayd.events.LIVE_TYPES` (``message.status``,
``message.received``, ``modem.state``) becomes one SSE message whose ``event`` is the event's
``type`` and whose ``data`` is its wire form (:func:`~gatewayd.events.to_wire`). aiohttp-sse
pings idle streams so proxies keep them open. Streams end when the application shuts down, so a
stop never waits on open browser tabs.

Every open stream is registered in :class:`LiveStreams` under who opened it. When a session
ends or a key is revoked (announced by :mod:`webui.revocations`), that identity's streams
re-check the database and those no longer allowed get a last ``session.ended`` message and
close; each stream also re-checks on its own every :data:`RECHECK_SECONDS`, in case an
announcement was lost. One identity may hold at most ``live_streams_per_user`` streams per web
process: a further one is refused with ``429 too_many_streams`` (the browser's other tabs keep
theirs; refusing the newcomer cannot start a reconnect war between tabs).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp_sse import sse_response

from gatewayd.bus import Subscription
from gatewayd.events import EVENTS, LIVE_TYPES, LiveEvent, to_wire
from webui.auth.apikeys import key_alive
from webui.auth.identity import Identity
from webui.auth.sessions import session_alive
from webui.errors import error_response
from webui.keys import BUS, DB, IDENTITY, OPTIONS

CHECK_SECONDS = 5.0
"""How often an idle stream checks that its browser is still there (the library pings)."""
RECHECK_SECONDS = 30.0
"""How often a stream re-checks its session or key without being told to."""
RETRY_MILLISECONDS = 3000
STOP = "live.stop"
"""Why a stream ends without a last word (shutdown, a stream left by its browser)."""
ENDED = "session.ended"
"""Why a stream ends telling its browser so: the session or key no longer holds."""

Owner = tuple[str, int]


@dataclass(eq=False)
class LiveStream:
    identity: Identity
    subscription: Subscription[LiveEvent]
    request: web.Request | None = None
    opened: float = field(default_factory=time.monotonic)

    @property
    def gone(self) -> bool:
        """The browser closed the connection (a closed tab, a reload): the handler has not
        noticed yet, but the stream no longer counts."""
        transport = self.request.transport if self.request is not None else None
        return self.request is not None and (transport is None or transport.is_closing())

    @property
    def owner(self) -> Owner:
        return (self.identity.kind, self.identity.id)


class LiveStreams:
    """The open streams of this process, by who opened them."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._by_owner: dict[Owner, set[LiveStream]] = defaultdict(set)

    def open(
        self,
        identity: Identity,
        subscription: Subscription[LiveEvent],
        limit: int,
        request: web.Request | None = None,
    ) -> LiveStream | None:
        """Register a stream; None when its owner already holds ``limit`` open ones."""
        owner = (identity.kind, identity.id)
        for gone in [stream for stream in self._by_owner[owner] if stream.gone]:
            self.close(gone)
            gone.subscription.end(STOP)
        if len(self._by_owner[owner]) >= limit:
            return None
        stream = LiveStream(identity, subscription, request)
        self._by_owner[owner].add(stream)
        return stream

    def close(self, stream: LiveStream) -> None:
        streams = self._by_owner.get(stream.owner)
        if streams is not None:
            streams.discard(stream)
            if not streams:
                del self._by_owner[stream.owner]

    def all(self) -> list[LiveStream]:
        return [stream for streams in self._by_owner.values() for stream in streams]

    def count(self, kind: str, owner_id: int) -> int:
        return len(self._by_owner.get((kind, owner_id), ()))

    async def recheck(self, kind: str, owner_id: int) -> None:
        """Close the streams of that owner whose session or key no longer holds."""
        for stream in list(self._by_owner.get((kind, owner_id), ())):
            if not await allowed(self._app, stream.identity):
                stream.subscription.end(ENDED)

    async def recheck_keys_of(self, account_id: int) -> None:
        """Close the streams of the keys of a client account that no longer holds."""
        for (kind, owner_id), streams in list(self._by_owner.items()):
            if kind == "api_key" and any(s.identity.account_id == account_id for s in streams):
                await self.recheck(kind, owner_id)


LIVE_STREAMS: web.AppKey[LiveStreams] = web.AppKey("live_streams", LiveStreams)


async def allowed(app: web.Application, identity: Identity) -> bool:
    async with app[DB].read() as conn:
        if identity.kind == "user":
            return await session_alive(conn, identity)
        return await key_alive(conn, identity.id)


def too_many_streams(limit: int) -> web.Response:
    return error_response(
        429,
        "too_many_streams",
        f"at most {limit} live streams at once per user: close another tab",
        headers={"Retry-After": "30"},
    )


async def events(request: web.Request) -> web.StreamResponse:
    identity = request[IDENTITY]
    assert identity is not None  # the middleware let no anonymous request through
    app = request.app
    limit = app[OPTIONS].live_streams_per_user
    bus = app[BUS]
    subscription = bus.subscribe(EVENTS)
    stream = app[LIVE_STREAMS].open(identity, subscription, limit, request)
    if stream is None:
        bus.unsubscribe(subscription)
        return too_many_streams(limit)
    try:
        async with sse_response(request, headers={"X-Accel-Buffering": "no"}) as sse:
            await sse.send("hello", event="ready", retry=RETRY_MILLISECONDS)
            next_check = time.monotonic() + RECHECK_SECONDS
            while sse.is_connected():
                event = await subscription.get(timeout=CHECK_SECONDS)
                if subscription.ended is None and time.monotonic() >= next_check:
                    next_check = time.monotonic() + RECHECK_SECONDS
                    if not await allowed(app, identity):
                        subscription.end(ENDED)
                if subscription.ended == STOP:
                    break
                if subscription.ended == ENDED:
                    with contextlib.suppress(ConnectionResetError):
                        await sse.send("{}", event=ENDED)
                    break
                if isinstance(event, LIVE_TYPES):
                    with contextlib.suppress(ConnectionResetError):
                        await sse.send(json.dumps(to_wire(event)), event=event.TYPE)
            return sse
    finally:
        app[LIVE_STREAMS].close(stream)
        bus.unsubscribe(subscription)


async def _on_shutdown(app: web.Application) -> None:
    for stream in app[LIVE_STREAMS].all():
        stream.subscription.end(STOP)


def register(app: web.Application) -> None:
    app[LIVE_STREAMS] = LiveStreams(app)
    app.on_shutdown.append(_on_shutdown)
    app.router.add_get("/events", events, name="events")
