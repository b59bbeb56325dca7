"""The API ingest load: ``webui run`` on a throwaway database (PostgreSQL with Redis wake-ups,
then SQLite), an operator key from ``webui create-api-key``, and an asyncio aiohttp client on
loopback. Every phase is bounded both in requests and in seconds.

Single messages: closed-loop clients at rising concurrency; the figure is the best rate whose
p95 stays under 200 ms. Batches: ``POST /api/v1/messages`` with a list of recipients, and the
CSV upload ``POST /api/v1/messages/batch``; the figure is recipients accepted over the seconds
measured around the phase. Figures are stored unrounded, one entry per run.

Run alone: .venv/bin/python -m bench.ingest_load [--runs 3] [--database postgresql]
[--only batch] [--quick] (writes bench/results/ingest.json, or ``$BENCH_RESULTS_DIR``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import Result, percentile, say, write_result
from bench.procs import CpuWindow, Proc, postgres_backends, process_tree, run_to_end
from bench.stack import REDIS_URL, recipient, throwaway_database, work_directory
from bench.verdict import MIN_RUNS
from gatewayd.logging_setup import configure_logging

SINGLE_TARGET_PER_S = 2000.0
P95_LIMIT_S = 0.200
BATCH_TARGET_PER_S = 20000.0
VENV_BIN = Path(sys.executable).parent
DATABASES = ("postgresql", "sqlite")
REQUEST_TIMEOUT_S = 30.0
NO_ANSWER = 599
"""The status counted for a request without an answer within ``REQUEST_TIMEOUT_S``."""
PHASES = ("single", "batch")


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
    request: Callable[[int], Awaitable[tuple[int, int]]],
    *,
    clients: int,
    total: int,
    seconds: float,
) -> dict[str, Any]:
    """``clients`` loops sending requests until ``total`` are done or ``seconds`` pass. Each
    request answers (HTTP status, units it carried); ``units_per_s`` is the units of the
    accepted requests over the seconds measured around the whole phase."""
    latencies: list[float] = []
    failures = 0
    unanswered = 0
    units = 0
    issued = 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal issued, failures, unanswered, units
        while issued < total and time.monotonic() < deadline:
            issued += 1
            started = time.perf_counter()
            try:
                status, carried = await request(issued)
            except (TimeoutError, aiohttp.ClientError):
                status, carried = NO_ANSWER, 0
            latencies.append(time.perf_counter() - started)
            if status >= 300:
                failures += 1
                unanswered += status == NO_ANSWER
            else:
                units += carried

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "failures": failures,
        "unanswered": unanswered,
        "units": units,
        "elapsed_s": elapsed,
        "per_s": len(latencies) / elapsed,
        "units_per_s": units / elapsed,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
    }


async def measure(
    base: str, key: str, quick: bool, database: str, phases: Collection[str] = PHASES
) -> dict[str, Any]:
    """One run's figures, unrounded: single sends at each concurrency, then batches."""
    headers = {"Authorization": f"Bearer {key}"}
    connector = aiohttp.TCPConnector(limit=256)
    run: dict[str, Any] = {"database": database}
    async with aiohttp.ClientSession(
        base_url=base,
        headers=headers,
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
    ) as session:

        async def single(index: int) -> tuple[int, int]:
            body = {"to": recipient(index), "text": f"Ingest {index}"}
            async with session.post("/api/v1/messages", json=body) as answer:
                await answer.read()
                return answer.status, 1

        if "single" in phases:
            levels = []
            seconds = 4.0 if quick else 8.0
            for clients in (4, 16, 64, 128):
                level = await _closed_loop(single, clients=clients, total=40_000, seconds=seconds)
                say(
                    f"  {database}: {clients} clients: {level['per_s']:.1f}/s, p95 "
                    f"{level['p95_ms']:.1f} ms, {level['failures']} failed"
                )
                levels.append(level)
            usable = [
                lv for lv in levels if lv["p95_ms"] < P95_LIMIT_S * 1000 and not lv["failures"]
            ]
            best = max(usable, key=lambda lv: lv["per_s"]) if usable else None
            run.update(
                {
                    "levels": levels,
                    "single_per_s": best["per_s"] if best else 0.0,
                    "single_p95_ms": best["p95_ms"] if best else None,
                    "single_clients": best["clients"] if best else None,
                }
            )

        batch_size = 1000 if quick else 10_000

        async def listed(index: int) -> tuple[int, int]:
            numbers = [recipient(index * batch_size + i) for i in range(batch_size)]
            body = {"to": numbers, "text": f"Batch {index}"}
            async with session.post("/api/v1/messages", json=body) as answer:
                await answer.read()
                return answer.status, batch_size

        async def uploaded(index: int) -> tuple[int, int]:
            rows = "\n".join(recipient(index * batch_size + i) for i in range(batch_size))
            form = aiohttp.FormData()
            form.add_field("file", rows.encode(), filename="numbers.csv", content_type="text/csv")
            form.add_field("text", f"CSV batch {index}")
            async with session.post("/api/v1/messages/batch", data=form) as answer:
                await answer.read()
                return answer.status, batch_size

        if "batch" in phases:
            batches = {}
            for name, request in (("list", listed), ("csv", uploaded)):
                done = await _closed_loop(request, clients=2, total=6 if quick else 10, seconds=60)
                done["recipients_per_s"] = done["units_per_s"]
                say(
                    f"  {database}: batch ({name}, {batch_size} recipients): "
                    f"{done['recipients_per_s']:,.0f} recipients/s "
                    f"({done['units']} in {done['elapsed_s']:.3f} s), {done['failures']} failed"
                )
                batches[name] = done
            run.update(
                {
                    "batch_size": batch_size,
                    "batches": batches,
                    "batch_recipients_per_s": max(
                        (b["recipients_per_s"] for b in batches.values() if not b["failures"]),
                        default=0.0,
                    ),
                }
            )
    return run


async def ingest_on(database: str, quick: bool, phases: Collection[str] = PHASES) -> dict[str, Any]:
    say(f"ingest: {database}")
    with work_directory(f"ingest-{database}") as work:
        async with throwaway_database(database, work, "ingest") as url:
            redis_url = REDIS_URL if database == "postgresql" else None
            proc, base, key = await _start_web(work, url, redis_url)
            name = url.rsplit("/", 1)[1] if database == "postgresql" else ""
            window = CpuWindow(
                {
                    "webui": lambda: process_tree(proc.pid),
                    "postgresql": lambda: postgres_backends(name) if name else [],
                    "load_generator": lambda: [os.getpid()],
                }
            )
            try:
                window.start()
                run = await measure(base, key, quick, database, phases)
                run.update(window.stop())
            finally:
                await proc.stop()
    return run


async def run_ingest(
    quick: bool,
    repeats: int = MIN_RUNS,
    databases: Sequence[str] = DATABASES,
    phases: Collection[str] = PHASES,
) -> Result:
    """``repeats`` runs on each database (taken in turn), each on a new database and process."""
    runs: list[Result] = []
    result: Result = {
        "title": "API ingest (webui run, loopback aiohttp client)",
        "measured": True,
        "target": f"median >= {SINGLE_TARGET_PER_S:,.0f} POST/s with p95 < "
        f"{P95_LIMIT_S * 1000:g} ms; median >= {BATCH_TARGET_PER_S:,.0f} recipients/s",
        "note": "The load generator runs on the same 2 cores as the server (its CPU is listed). "
        "Single sends: the best rate of the concurrencies whose p95 stayed under 200 ms. "
        "Batches: recipients accepted over the seconds measured around the phase (two "
        "clients, two requests at a time); a run's batch figure is the better of the JSON "
        "list and the CSV upload.",
        "runs": runs,
    }
    for repeat in range(repeats):
        for database in databases:
            run = await ingest_on(database, quick, phases)
            run["repeat"] = repeat
            runs.append(run)
            write_result("ingest", result)  # what is done survives a later failure
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=MIN_RUNS)
    parser.add_argument("--database", choices=DATABASES, action="append")
    parser.add_argument("--only", choices=PHASES, action="append", help="single or batch")
    args = parser.parse_args()
    configure_logging(None, "WARNING")
    asyncio.run(run_ingest(args.quick, args.runs, args.database or DATABASES, args.only or PHASES))


if __name__ == "__main__":
    main()
