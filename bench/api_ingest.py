"""API ingest benchmark: how fast ``webui run`` accepts messages, on PostgreSQL and SQLite.

Starts the real ``webui run`` process against a fresh database (a new PostgreSQL database on
``$SMSGW_BENCH_PG_ADMIN_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``, and
a SQLite file), creates an operator API key with the CLI, then measures from this process:

- single sends: ``POST /api/v1/messages`` with one recipient, N requests at concurrency C;
- batches: ``POST /api/v1/messages`` with 10,000 recipients per request.

Prints requests (or recipients) per second and latency percentiles. Only loopback traffic.

    .venv/bin/python bench/api_ingest.py [--single 2000] [--concurrency 32] [--batches 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import asyncpg

VENV_BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get(
    "SMSGW_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SECRET = secrets.token_urlsafe(48)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tool(name: str, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run([str(VENV_BIN / name), *args], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{name} {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


@asynccontextmanager
async def postgres_url() -> AsyncIterator[str]:
    name = f"sms_gateway_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def sqlite_url() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{directory}/gateway.db"


@asynccontextmanager
async def web_server(db_url: str, log_dir: Path) -> AsyncIterator[tuple[str, str]]:
    port = free_port()
    env = {**os.environ, "SMSGW_DATABASE_URL": db_url, "SMSGW_SECRET_KEY": SECRET,
           "SMSGW_LISTEN": f"127.0.0.1:{port}", "SMSGW_LOG_FILE": str(log_dir / "app.log")}
    env.pop("SMSGW_REDIS_URL", None)
    tool("gatewayd", "migrate", env=env)
    key = tool("webui", "create-api-key", "bench", "--role", "operator", env=env)\
        .strip().splitlines()[-1]
    process = await asyncio.create_subprocess_exec(
        str(VENV_BIN / "webui"), "run", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(400):
                try:
                    async with session.get(base + "/api/health"):
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        yield base, key
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def single_sends(base: str, key: str, total: int, concurrency: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for i in counter:
                body = {"to": f"+55119{i % 10**8:08d}", "text": f"bench message {i}"}
                started = time.perf_counter()
                async with session.post(base + "/api/v1/messages", json=body,
                                        headers=headers) as response:
                    await response.read()
                    if response.status != 202:
                        raise SystemExit(f"unexpected {response.status}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"requests": total, "seconds": elapsed, "per_second": total / elapsed,
            "p50_ms": percentile(latencies, 0.5) * 1000,
            "p95_ms": percentile(latencies, 0.95) * 1000}


async def batches(base: str, key: str, count: int, size: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for b in range(count):
            first = 50_000_000 + b * size
            body = {"to": [f"+55119{(first + i) % 10**8:08d}" for i in range(size)],
                    "text": "bench batch"}
            started = time.perf_counter()
            async with session.post(base + "/api/v1/messages", json=body,
                                    headers=headers) as response:
                await response.read()
                if response.status != 202:
                    raise SystemExit(f"unexpected {response.status}")
            latencies.append(time.perf_counter() - started)
    total = count * size
    return {"recipients": total, "seconds": sum(latencies),
            "per_second": total / sum(latencies),
            "p50_s": percentile(latencies, 0.5), "p95_s": percentile(latencies, 0.95)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2000, help="single-send requests")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batches", type=int, default=5, help="10,000-recipient requests")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--only", choices=("postgresql", "sqlite"))
    args = parser.parse_args()
    backends = {"postgresql": postgres_url, "sqlite": sqlite_url}
    for name, make_url in backends.items():
        if args.only and args.only != name:
            continue
        with tempfile.TemporaryDirectory() as logs:
            async with make_url() as url, web_server(url, Path(logs)) as (base, key):
                single = await single_sends(base, key, args.single, args.concurrency)
                batch = await batches(base, key, args.batches, args.batch_size)
        print(f"{name}: single sends {single['per_second']:.0f} req/s "
              f"(p50 {single['p50_ms']:.1f} ms, p95 {single['p95_ms']:.1f} ms, "
              f"{single['requests']} requests, concurrency {args.concurrency})")
        print(f"{name}: batches {batch['per_second']:.0f} recipients/s "
              f"({args.batch_size} per request: p50 {batch['p50_s']:.2f} s, "
              f"p95 {batch['p95_s']:.2f} s)")


if __name__ == "__main__":
    asyncio.run(main())
