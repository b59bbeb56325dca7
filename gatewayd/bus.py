"""The event bus: wake-ups for the send queue, live events for the web UI, operator commands
and access announcements, each on a typed channel of :mod:`gatewayd.events`.

Two implementations of :class:`Bus`: :class:`InProcessBus` for embedded mode (one process) and
:class:`RedisBus` (``redis.asyncio`` pub/sub) for the scaled-out stack. Both take typed events
and hand subscribers typed events; only :class:`RedisBus` puts them on the wire
(:func:`~gatewayd.events.to_wire`) and parses what it hears back (:meth:`Channel.parse`,
ignoring with a log line anything that is not an event of that channel). Nothing on the bus
matters for durability: the database is the truth, a lost message on the bus only costs one
poll interval, and a Redis outage or ``FLUSHALL`` is survived by reconnecting in the background
while callers carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, Generic, Protocol, TypeVar

import structlog

from gatewayd.events import Channel, Event, EventError, to_wire

log = structlog.get_logger(__name__)

E = TypeVar("E", bound=Event)


class _End:
    """Put in a subscription's queue by :meth:`Subscription.end` to wake its reader."""


class Subscription(Generic[E]):
    """Events of one channel, buffered; old events are dropped when the reader lags. Ended
    (:meth:`end`) it yields nothing more, and :attr:`ended` says why."""

    def __init__(self, channel: Channel[E], maxsize: int = 1000) -> None:
        self.channel = channel
        self.ended: str | None = None
        self._queue: asyncio.Queue[E | _End] = asyncio.Queue(maxsize)

    def deliver(self, event: E) -> None:
        if self.ended is not None:
            return
        if self._queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._queue.get_nowait()
        self._queue.put_nowait(event)

    def end(self, reason: str) -> None:
        """Stop the reader at once, events still buffered included (the first reason holds)."""
        if self.ended is not None:
            return
        self.ended = reason
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_End())

    async def get(self, timeout: float | None = None) -> E | None:
        """The next event; None when ``timeout`` seconds pass without one, or once ended."""
        if self.ended is not None:
            return None
        try:
            event = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        return None if isinstance(event, _End) else event

    def __aiter__(self) -> AsyncIterator[E]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[E]:
        while self.ended is None:
            event = await self._queue.get()
            if isinstance(event, _End):
                return
            yield event


class Bus(Protocol):
    """What every caller holds, whichever bus :func:`create_bus` chose."""

    async def publish(self, channel: Channel[E], event: E) -> None: ...

    def subscribe(self, channel: Channel[E]) -> Subscription[E]: ...

    def unsubscribe(self, subscription: Subscription[E]) -> None: ...

    @property
    def healthy(self) -> bool: ...

    async def ping(self) -> bool | None:
        """Whether the shared server answers; None when there is none (in-process)."""
        ...

    async def close(self) -> None: ...


class InProcessBus:
    """Fan-out to subscribers of this process."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription[Any]]] = {}

    @property
    def healthy(self) -> bool:
        return True

    async def ping(self) -> bool | None:
        return None

    async def publish(self, channel: Channel[E], event: E) -> None:
        self._fan_out(channel.name, event)

    def _fan_out(self, name: str, event: Event) -> None:
        for subscription in tuple(self._subscriptions.get(name, ())):
            subscription.deliver(event)

    def subscribe(self, channel: Channel[E]) -> Subscription[E]:
        subscription = Subscription(channel)
        self._subscriptions.setdefault(channel.name, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription[E]) -> None:
        subscribers = self._subscriptions.get(subscription.channel.name, set())
        subscribers.discard(subscription)
        if not subscribers:
            self._subscriptions.pop(subscription.channel.name, None)

    async def close(self) -> None:
        self._subscriptions.clear()


class RedisBus(InProcessBus):
    """Redis pub/sub shared by every process; local subscribers are fed by one listener task."""

    RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis.asyncio as redis_asyncio

        self._url = url
        self._redis = redis_asyncio.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10
        )
        self._channels_changed = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._healthy = False
        self._closing = False

    @property
    def healthy(self) -> bool:
        return self._healthy

    async def publish(self, channel: Channel[E], event: E) -> None:
        import redis.exceptions

        try:
            await self._redis.publish(channel.name, json.dumps(to_wire(event)))
            self._set_health(True)
        except (redis.exceptions.RedisError, OSError) as exc:
            self._set_health(False, str(exc))
            # Local subscribers still hear it: the database remains the truth either way.
            self._fan_out(channel.name, event)

    def subscribe(self, channel: Channel[E]) -> Subscription[E]:
        known = channel.name in self._subscriptions
        subscription = super().subscribe(channel)
        if not known:
            self._channels_changed.set()
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(), name="redis-bus-listener"
            )
        return subscription

    async def ping(self) -> bool:
        import redis.exceptions

        try:
            await self._redis.ping()
        except (redis.exceptions.RedisError, OSError) as exc:
            self._set_health(False, str(exc))
            return False
        self._set_health(True)
        return True

    def _set_health(self, healthy: bool, reason: str = "") -> None:
        if healthy != self._healthy:
            if healthy:
                log.info("Redis bus connected", url=self._safe_url())
            else:
                log.warning("Redis bus unavailable", url=self._safe_url(), reason=reason)
        self._healthy = healthy

    def _safe_url(self) -> str:
        head, _, tail = self._url.rpartition("@")
        return f"redis://***@{tail}" if head else self._url

    async def _listen(self) -> None:
        import redis.exceptions

        attempt = 0
        while not self._closing:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                subscribed: set[str] = set()
                while not self._closing:
                    # New channels join the open connection: closing it to subscribe again
                    # would lose what is published in between.
                    self._channels_changed.clear()
                    new = [channel for channel in self._subscriptions if channel not in subscribed]
                    if new:
                        await pubsub.subscribe(*new)
                        subscribed.update(new)
                    self._set_health(True)
                    attempt = 0
                    while not self._closing and not self._channels_changed.is_set():
                        raw = await pubsub.get_message(timeout=1.0)
                        if raw is None or raw.get("type") != "message":
                            continue
                        self._dispatch(raw)
            except (redis.exceptions.RedisError, OSError) as exc:
                self._set_health(False, str(exc))
                delay = self.RECONNECT_DELAYS[min(attempt, len(self.RECONNECT_DELAYS) - 1)]
                attempt += 1
                await asyncio.sleep(delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _dispatch(self, raw: dict[str, Any]) -> None:
        name = raw["channel"]
        if isinstance(name, bytes):
            name = name.decode(errors="replace")
        subscribers = self._subscriptions.get(name)
        if not subscribers:
            return
        channel = next(iter(subscribers)).channel
        try:
            event = channel.parse(json.loads(raw["data"]))
        except (ValueError, TypeError) as error:  # EventError is a ValueError
            reason = str(error) if isinstance(error, EventError) else "not JSON"
            log.warning("Ignored malformed bus message", channel=name, reason=reason[:200])
            return
        self._fan_out(name, event)

    async def close(self) -> None:
        self._closing = True
        if self._listener is not None:
            self._listener.cancel()
            # Bounded: a cancellation swallowed inside the client must not hang shutdown.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._listener, 2.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._redis.aclose(), 2.0)
        await super().close()


def create_bus(redis_url: str | None) -> Bus:
    """The Redis bus when a URL is configured, else the in-process one."""
    return RedisBus(redis_url) if redis_url else InProcessBus()
