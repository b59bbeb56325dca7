"""Throughput limits of client accounts: one token bucket per account, shared by every process
through Redis when Redis is configured, kept in the process otherwise (embedded mode).

A bucket fills at ``tps`` tokens a second up to a burst of ``max(1, tps)`` tokens (one second's
worth, at least one message). A request of ``n`` messages takes ``n`` tokens:

- ``n`` no larger than the burst is admitted when that many tokens are there, else refused with
  the time until they will be;
- a batch larger than the burst is admitted when the bucket is full, and leaves the bucket
  ``n - burst`` tokens in debt: nothing else is admitted until the debt is paid at ``tps``, so
  over any long stretch the account stays at its rate, and a batch is never refused for good
  only because it is bigger than one second's worth.

The arithmetic is :func:`take_tokens` in Python and the same steps in one Lua script in Redis
(the time is Redis's own ``TIME``, so every process agrees on it). When Redis cannot be reached
the process falls back on its own bucket (logged once per outage): Redis holds nothing that
matters, and a limit kept per process for a while is better than refusing every message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)

EPSILON = 1e-9
KEY_PREFIX = "smsgw:tps:"


def burst_of(tps: float) -> float:
    """The tokens a full bucket holds: one second's worth, at least one message."""
    return max(1.0, tps)


@dataclass(frozen=True)
class BucketState:
    tokens: float
    stamp: float
    """When ``tokens`` was counted (seconds, any fixed origin)."""


def take_tokens(
    state: BucketState | None, now: float, tps: float, count: int
) -> tuple[BucketState, float]:
    """Take ``count`` tokens (a negative count gives them back): the new state and 0.0 when
    admitted, or the unchanged tokens and the seconds to wait when refused."""
    burst = burst_of(tps)
    tokens = burst if state is None else state.tokens + max(0.0, now - state.stamp) * tps
    tokens = min(burst, tokens)
    if count < 0:
        return BucketState(min(burst, tokens - count), now), 0.0
    need = min(float(count), burst)
    if tokens + EPSILON >= need:
        return BucketState(tokens - count, now), 0.0
    return BucketState(tokens, now), (need - tokens) / tps


class Buckets(Protocol):
    """The throughput buckets of every account."""

    async def take(self, account_id: int, tps: float, count: int) -> float:
        """Take ``count`` tokens; 0.0 when admitted, else the seconds to wait."""

    async def give_back(self, account_id: int, tps: float, count: int) -> None:
        """Return tokens taken for messages that were not queued after all."""

    async def close(self) -> None: ...


class LocalBuckets:
    """Buckets in this process only: embedded mode, and the fallback when Redis is down."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._states: dict[int, BucketState] = {}

    async def take(self, account_id: int, tps: float, count: int) -> float:
        return self.take_now(account_id, tps, count)

    def take_now(self, account_id: int, tps: float, count: int) -> float:
        state, wait = take_tokens(self._states.get(account_id), self._clock(), tps, count)
        self._states[account_id] = state
        return wait

    async def give_back(self, account_id: int, tps: float, count: int) -> None:
        self.take_now(account_id, tps, -count)

    async def close(self) -> None:
        self._states.clear()


TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local burst = math.max(1, rate)
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1])
local stamp = tonumber(state[2])
if tokens == nil or stamp == nil then
  tokens = burst
else
  tokens = tokens + math.max(0, now - stamp) * rate
end
tokens = math.min(burst, tokens)
local wait = 0
if count < 0 then
  tokens = math.min(burst, tokens - count)
elseif tokens + 1e-9 >= math.min(count, burst) then
  tokens = tokens - count
else
  wait = (math.min(count, burst) - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
           'stamp', string.format('%.17g', now))
redis.call('EXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1)
return string.format('%.17g', wait)
"""
""":func:`take_tokens` in Redis, atomically: KEYS[1] the bucket, ARGV tps and count."""


class RedisBuckets:
    """Buckets shared by every process on one Redis (one Lua script per take)."""

    def __init__(self, url: str, fallback: LocalBuckets | None = None) -> None:
        import redis.asyncio as redis_asyncio

        self._redis: Any = redis_asyncio.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=2
        )
        self._script = self._redis.register_script(TAKE_SCRIPT)
        self._fallback = fallback or LocalBuckets()
        self._failing = False

    async def take(self, account_id: int, tps: float, count: int) -> float:
        return await self._run(account_id, tps, count)

    async def give_back(self, account_id: int, tps: float, count: int) -> None:
        await self._run(account_id, tps, -count)

    async def _run(self, account_id: int, tps: float, count: int) -> float:
        import redis.exceptions

        try:
            answer = await self._script(keys=[f"{KEY_PREFIX}{account_id}"], args=[tps, count])
        except (redis.exceptions.RedisError, OSError) as exc:
            if not self._failing:
                self._failing = True
                log.warning("Throughput limits kept per process: Redis unreachable", error=str(exc))
            return self._fallback.take_now(account_id, tps, count)
        if self._failing:
            self._failing = False
            log.info("Throughput limits shared through Redis again")
        return float(answer)

    async def close(self) -> None:
        await self._redis.aclose()


def create_buckets(redis_url: str | None) -> Buckets:
    """Shared buckets on Redis when there is one, else this process's own."""
    return RedisBuckets(redis_url) if redis_url else LocalBuckets()
