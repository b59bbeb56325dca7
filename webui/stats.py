"""Request figures for ``/api/metrics`` and ``/metrics``: latency p95 and error rates over a
sliding window, plus the Prometheus histogram and counters of this process."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

WINDOW_SECONDS = 300.0
MAX_SAMPLES = 50_000


class RequestStats:
    """Durations and statuses of recent requests, and Prometheus metrics for all of them."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._samples: deque[tuple[float, float, int]] = deque(maxlen=MAX_SAMPLES)
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "smsgw_http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.responses = Counter(
            "smsgw_http_responses",
            "HTTP responses by status class",
            ["status_class"],
            registry=self.registry,
        )

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        self._samples.append((self._clock(), seconds, status))
        self.latency.labels(method, route).observe(seconds)
        self.responses.labels(f"{status // 100}xx").inc()

    def _recent(self) -> list[tuple[float, float, int]]:
        horizon = self._clock() - WINDOW_SECONDS
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()
        return list(self._samples)

    def summary(self) -> dict[str, float | int | None]:
        """``requests``, ``latency_p95_ms``, ``error_rate`` (5xx share), ``client_error_rate``
        over the last :data:`WINDOW_SECONDS`."""
        recent = self._recent()
        if not recent:
            return {
                "window_seconds": WINDOW_SECONDS,
                "requests": 0,
                "latency_p95_ms": None,
                "error_rate": 0.0,
                "client_error_rate": 0.0,
            }
        durations = sorted(sample[1] for sample in recent)
        p95 = durations[max(0, math.ceil(0.95 * len(durations)) - 1)]
        server_errors = sum(1 for sample in recent if sample[2] >= 500)
        client_errors = sum(1 for sample in recent if 400 <= sample[2] < 500)
        return {
            "window_seconds": WINDOW_SECONDS,
            "requests": len(recent),
            "latency_p95_ms": round(p95 * 1000, 2),
            "error_rate": round(server_errors / len(recent), 4),
            "client_error_rate": round(client_errors / len(recent), 4),
        }
