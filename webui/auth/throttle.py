"""Failed-login throttling per client address (in memory, per web process).

The per-user lockout lives in the database (:mod:`webui.auth.users`); this guards against one
address guessing many user names. nginx's rate limit sits in front of it in production.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    """Blocks an address once it has ``limit`` failures within ``window`` seconds."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        now = self._clock()
        failures = self._failures.get(address)
        if failures is None:
            return deque()
        while failures and now - failures[0] > self.window:
            failures.popleft()
        if not failures:
            del self._failures[address]
        return failures

    def blocked(self, address: str) -> bool:
        return len(self._recent(address)) >= self.limit

    def record_failure(self, address: str) -> None:
        self._recent(address)
        self._failures.setdefault(address, deque()).append(self._clock())
        if len(self._failures) > 100_000:  # bounded memory under a spray of addresses
            oldest = next(iter(self._failures))
            del self._failures[oldest]

    def record_success(self, address: str) -> None:
        self._failures.pop(address, None)
