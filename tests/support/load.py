"""Concurrent API clients against a running stack, and the figures of a load or soak run.

:class:`Stack` starts everything as real processes on this machine only (loopback): a
``gatewayd simulate`` with N modems, ``gatewayd run`` and ``webui run`` on a database and a
private Redis. :func:`drive_clients` runs ``clients`` concurrent API clients for ``seconds``
(reads of lists and single messages, health, and sends at a bounded rate), recording each
request's latency and status. :func:`sample_process` records a process's resident memory.
The soak (``make soak``) and the short load test of the fault tier both use them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.peers.helpers import Simulator, start_simulator
from tests.support.daemons import (
    DaemonProcess,
    create_api_key,
    external_number,
    gateway_config,
    gateway_process,
    wait_http_ok,
    webui_process,
)
from tests.support.ports import free_port
from tests.support.services import PrivateRedis

SECRET = "load-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


@dataclass
class Stack:
    simulator: Simulator
    gateway: DaemonProcess
    web: DaemonProcess
    base_url: str
    api_key: str


@contextlib.asynccontextmanager
async def running_stack(
    db_url: str, work_dir: Path, *, modems: int, latency_ms: int = 20, report_delay_ms: int = 200
) -> AsyncIterator[Stack]:
    simulator = await start_simulator(
        work_dir / "simulator",
        modems=modems,
        latency_ms=latency_ms,
        report_delay_ms=report_delay_ms,
    )
    try:
        with PrivateRedis() as redis_server:
            port = free_port()
            env = {
                "SMSGW_DATABASE_URL": db_url,
                "SMSGW_REDIS_URL": redis_server.url,
                "SMSGW_SECRET_KEY": SECRET,
                "SMSGW_LISTEN": f"127.0.0.1:{port}",
            }
            config = gateway_config(work_dir / "gatewayd.toml", simulator.modems, host="load")
            gateway = gateway_process(config, work_dir, env)
            web = webui_process(work_dir, env)
            key = await create_api_key(env, f"load-{random.randrange(1 << 30)}")
            await gateway.start()
            await web.start()
            base = f"http://127.0.0.1:{port}"
            try:
                await wait_http_ok(f"{base}/api/health")
                yield Stack(simulator, gateway, web, base, key)
            finally:
                await web.stop()
                await gateway.stop()
    finally:
        await simulator.process.stop()


@dataclass
class LoadFigures:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    sent_ids: list[int] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    by_minute: dict[int, list[float]] = field(default_factory=dict)

    def record(self, kind: str, seconds: float, status: int) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.statuses[status] += 1
        minute = int((time.monotonic() - self.started) // 60)
        self.by_minute.setdefault(minute, []).append(seconds)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def percentile(self, q: float, kind: str | None = None) -> float | None:
        values = sorted(v for k, vs in self.latencies.items() if kind in (None, k) for v in vs)
        if len(values) < 2:
            return values[0] if values else None
        return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]

    def summary(self) -> dict[str, Any]:
        total = sum(len(v) for v in self.latencies.values())
        p95 = self.percentile(95)
        return {
            "requests": total,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "client_errors": dict(self.errors),
            "p50_ms": round((self.percentile(50) or 0) * 1000, 1),
            "p95_ms": round((p95 or 0) * 1000, 1),
            "p95_ms_by_kind": {
                k: round((self.percentile(95, k) or 0) * 1000, 1) for k in sorted(self.latencies)
            },
            "messages_sent": len(self.sent_ids),
            "p95_ms_by_minute": [
                round(statistics.quantiles(v, n=100, method="inclusive")[94] * 1000, 1)
                if len(v) > 1
                else None
                for _, v in sorted(self.by_minute.items())
            ],
        }


async def drive_clients(
    stack: Stack,
    *,
    clients: int,
    seconds: float,
    sends_per_second: float = 10.0,
    think_seconds: float = 1.0,
) -> LoadFigures:
    """``clients`` concurrent API clients for ``seconds``, each pausing about ``think_seconds``
    between requests (as a person or a polling program would); sends are spread over all."""
    figures = LoadFigures()
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    send_every = clients / sends_per_second if sends_per_second > 0 else float("inf")
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    counter = iter(range(10**9))

    async def one_client(number: int, http: aiohttp.ClientSession) -> None:
        chance = random.Random(number)
        next_send = time.monotonic() + chance.uniform(0, send_every)
        while time.monotonic() < deadline:
            now = time.monotonic()
            if now >= next_send:
                kind, method, path = "send", "POST", "/api/v1/messages"
                n = next(counter)
                body: Any = {"to": external_number(n % 100_000), "text": f"load-{number}-{n}"}
                next_send = now + send_every
            else:
                body = None
                roll = chance.random()
                if roll < 0.5:
                    kind, method, path = "list", "GET", "/api/v1/messages?limit=20"
                elif roll < 0.8 and figures.sent_ids:
                    one = chance.choice(figures.sent_ids)
                    kind, method, path = "get", "GET", f"/api/v1/messages/{one}"
                elif roll < 0.9:
                    kind, method, path = "modems", "GET", "/api/v1/modems"
                else:
                    kind, method, path = "health", "GET", "/api/health"
            started = time.perf_counter()
            try:
                async with http.request(method, stack.base_url + path, json=body) as answer:
                    payload = await answer.read()
                    figures.record(kind, time.perf_counter() - started, answer.status)
                    if kind == "send" and answer.status == 202:
                        figures.sent_ids.append(int(json.loads(payload)["id"]))
            except (aiohttp.ClientError, TimeoutError) as error:
                figures.errors[type(error).__name__] += 1
            if think_seconds > 0:
                await asyncio.sleep(chance.uniform(0.5, 1.5) * think_seconds)

    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(one_client(i, http) for i in range(clients)))
    return figures


def resident_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


async def sample_process(
    pid: int, every: float, into: list[tuple[float, int]], stop: asyncio.Event
) -> None:
    """Append (monotonic time, RSS kB) every ``every`` seconds until ``stop`` is set."""
    while not stop.is_set():
        rss = resident_kb(pid)
        if rss is not None:
            into.append((time.monotonic(), rss))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
