"""The event bus: wake-ups for the send queue and live events for the web UI.

Two implementations behind one interface: :class:`InProcessBus` for embedded mode (one
process) and :class:`RedisBus` (``redis.asyncio`` pub/sub) for the scaled-out stack. Nothing on
the bus matters for durability: the database is the truth, a lost message on the bus only costs
one poll interval, and a Redis outage or ``FLUSHALL`` is survived by reconnecting in the
background while callers carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)

WAKE = "smsgw:wake"
"""Channel that tells gatewayd new work is queued: ``{"reason", "count"?, "modems"?}`` (see
:func:`queued_wake`); without a count every worker looks at the queue."""
EVENTS = "smsgw:events"
"""Channel of live events (``message.status``, ``message.received``, ``modem.state``)."""

Event = dict[str, Any]


def queued_wake(count: int, modems: Iterable[str | None] = ()) -> Event:
    """The wake-up for ``count`` newly queued messages, naming the modems some of them must
    go through: gatewayd then wakes that many idle modems, not all of them."""
    named = sorted({m for m in modems if m})
    return {"reason": "queued", "count": count, "modems": named}


class Subscription:
    """Messages of one channel, buffered; old messages are dropped when the reader lags."""

    def __init__(self, channel: str, maxsize: int = 1000) -> None:
        self.channel = channel
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)

    def deliver(self, message: Event) -> None:
        if self._queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._queue.get_nowait()
        self._queue.put_nowait(message)

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next message, or None when ``timeout`` seconds pass without one."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self._queue.get()


class Bus(Protocol):
    async def publish(self, channel: str, message: Event) -> None: ...

    def subscribe(self, channel: str) -> Subscription: ...

    def unsubscribe(self, subscription: Subscription) -> None: ...

    @property
    def healthy(self) -> bool: ...

    async def close(self) -> None: ...


class InProcessBus:
    """Fan-out to subscribers of this process."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = {}

    @property
    def healthy(self) -> bool:
        return True

    async def publish(self, channel: str, message: Event) -> None:
        self._fan_out(channel, message)

    def _fan_out(self, channel: str, message: Event) -> None:
        for subscription in tuple(self._subscriptions.get(channel, ())):
            subscription.deliver(message)

    def subscribe(self, channel: str) -> Subscription:
        subscription = Subscription(channel)
        self._subscriptions.setdefault(channel, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.get(subscription.channel, set()).discard(subscription)

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

    async def publish(self, channel: str, message: Event) -> None:
        import redis.exceptions

        try:
            await self._redis.publish(channel, json.dumps(message, default=str))
            self._set_health(True)
        except (redis.exceptions.RedisError, OSError) as exc:
            self._set_health(False, str(exc))
            # Local subscribers still hear it: the database remains the truth either way.
            self._fan_out(channel, message)

    def subscribe(self, channel: str) -> Subscription:
        known = channel in self._subscriptions
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
        channel = raw["channel"]
        if isinstance(channel, bytes):
            channel = channel.decode()
        try:
            message = json.loads(raw["data"])
        except (ValueError, TypeError):
            log.warning("Ignored malformed bus message", channel=channel)
            return
        if isinstance(message, dict):
            self._fan_out(channel, message)

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
