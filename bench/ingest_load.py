"""The API ingest load: ``webui run`` on a throwaway database (PostgreSQL with Redis wake-ups,
then SQLite), an operator key from ``webui create-api-key``, and an asyncio aiohttp client on
loopback. Every phase is bounded both in requests and in seconds.

Single messages: closed-loop clients at rising concurrency; the figure is the best rate whose
p95 stays under 200 ms. Batches: ``POST /api/v1/messages`` with a list of recipients, and the
CSV upload ``POST /api/v1/messages/batch``; the figure is recipients queued per second.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import Result, percentile, say, write_result
from bench.procs import CpuWindow, Proc, postgres_backends, run_to_end
from bench.stack import REDIS_URL, recipient, throwaway_database, work_directory

SINGLE_TARGET_PER_S = 2000.0
P95_LIMIT_S = 0.200
BATCH_TARGET_PER_S = 20000.0
VENV_BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _start_web(work: Path, url: str, redis_url: str | None) -> tuple[Proc, str, str]:
    port = _free_port()
    env = {
        "SMSGW_DATABASE_URL": url,
        "SMSGW_SECRET_KEY": secrets.token_urlsafe(32),
        "SMSGW_LISTEN": f"127.0.0.1:{port}",
        "SMSGW_DATA_DIR": str(work / "data"),
        "SMSGW_LOG_FILE": str(work / "webui.log"),
        "SMSGW_LOG_LEVEL": "WARNING",
    }
    if redis_url:
        env["SMSGW_REDIS_URL"] = redis_url
    await run_to_end([str(VENV_BIN / "gatewayd"), "migrate"], env=env)
    created = await run_to_end(
        [str(VENV_BIN / "webui"), "create-api-key", "bench", "--role", "operator"], env=env
    )
    key = created.strip().splitlines()[-1].strip()
    proc = Proc("webui", [str(VENV_BIN / "webui"), "run"], work / "logs", env=env)
    await proc.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"{base}/api/health") as answer:
                    if answer.status < 500:
                        return proc, base, key
            except aiohttp.ClientError:
                pass
            if not proc.running or time.monotonic() > deadline:
                raise RuntimeError(f"webui run did not come up:\n{proc.output()}")
            await asyncio.sleep(0.2)


async def _closed_loop(
    request: Callable[[int], Awaitable[int]], *, clients: int, total: int, seconds: float
) -> dict[str, Any]:
    """``clients`` loops sending requests until ``total`` are done or ``seconds`` pass."""
    latencies: list[float] = []
    failures = 0
    issued = 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal issued, failures
        while issued < total and time.monotonic() < deadline:
            issued += 1
            started = time.perf_counter()
            status = await request(issued)
            latencies.append(time.perf_counter() - started)
            failures += status >= 300

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "failures": failures,
        "per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
    }


async def measure(base: str, key: str, quick: bool, database: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(
        base_url=base, headers=headers, connector=connector
    ) as session:

        async def single(index: int) -> int:
            body = {"to": recipient(index), "text": f"Ingest {index}"}
            async with session.post("/api/v1/messages", json=body) as answer:
                await answer.read()
                return answer.status

        levels = []
        seconds = 4.0 if quick else 8.0
        for clients in (4, 16, 64, 128):
            level = await _closed_loop(single, clients=clients, total=40_000, seconds=seconds)
            say(
                f"  {database}: {clients} clients: {level['per_s']}/s, p95 {level['p95_ms']} ms, "
                f"{level['failures']} failed"
            )
            levels.append(level)
        usable = [lv for lv in levels if lv["p95_ms"] < P95_LIMIT_S * 1000 and not lv["failures"]]
        best = max(usable, key=lambda lv: lv["per_s"]) if usable else None

        batch_size = 1000 if quick else 10_000

        async def listed(index: int) -> int:
            numbers = [recipient(index * batch_size + i) for i in range(batch_size)]
            body = {"to": numbers, "text": f"Batch {index}"}
            async with session.post("/api/v1/messages", json=body) as answer:
                await answer.read()
                return answer.status

        async def uploaded(index: int) -> int:
            rows = "\n".join(recipient(index * batch_size + i) for i in range(batch_size))
            form = aiohttp.FormData()
            form.add_field("file", rows.encode(), filename="numbers.csv", content_type="text/csv")
            form.add_field("text", f"CSV batch {index}")
            async with session.post("/api/v1/messages/batch", data=form) as answer:
                await answer.read()
                return answer.status

        batches = {}
        for name, request in (("list", listed), ("csv", uploaded)):
            run = await _closed_loop(request, clients=2, total=6 if quick else 10, seconds=60)
            run["recipients_per_s"] = round(run["per_s"] * batch_size, 0)
            say(
                f"  {database}: batch ({name}, {batch_size} recipients): "
                f"{run['recipients_per_s']:,.0f} recipients/s, {run['failures']} failed"
            )
            batches[name] = run
    best_batch = (
        max(b["recipients_per_s"] for b in batches.values() if not b["failures"])
        if any(not b["failures"] for b in batches.values())
        else 0.0
    )
    return {
        "database": database,
        "levels": levels,
        "single_per_s": best["per_s"] if best else 0.0,
        "single_p95_ms": best["p95_ms"] if best else float("nan"),
        "single_clients": best["clients"] if best else None,
        "single_met": bool(best and best["per_s"] >= SINGLE_TARGET_PER_S),
        "batch_size": batch_size,
        "batches": batches,
        "batch_recipients_per_s": best_batch,
        "batch_met": best_batch >= BATCH_TARGET_PER_S,
    }


async def ingest_on(database: str, quick: bool) -> dict[str, Any]:
    say(f"ingest: {database}")
    with work_directory(f"ingest-{database}") as work:
        async with throwaway_database(database, work, "ingest") as url:
            redis_url = REDIS_URL if database == "postgresql" else None
            proc, base, key = await _start_web(work, url, redis_url)
            name = url.rsplit("/", 1)[1] if database == "postgresql" else ""
            window = CpuWindow(
                {
                    "webui": lambda: [proc.pid],
                    "postgresql": lambda: postgres_backends(name) if name else [],
                    "load_generator": lambda: [os.getpid()],
                }
            )
            try:
                window.start()
                run = await measure(base, key, quick, database)
                run.update(window.stop())
            finally:
                await proc.stop()
    return run


async def run_ingest(quick: bool) -> Result:
    runs = [await ingest_on(database, quick) for database in ("postgresql", "sqlite")]
    result: Result = {
        "title": "API ingest (webui run, loopback aiohttp client)",
        "measured": True,
        "target": f">= {SINGLE_TARGET_PER_S:,.0f} POST/s with p95 < {P95_LIMIT_S * 1000:g} ms; "
        f">= {BATCH_TARGET_PER_S:,.0f} recipients/s",
        "note": "The load generator runs on the same 2 cores as the server (its CPU is listed).",
        "runs": runs,
        "met": all(r["single_met"] and r["batch_met"] for r in runs),
    }
    write_result("ingest", result)
    return result
