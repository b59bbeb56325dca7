"""API ingest benchmark: how fast ``webui run`` accepts messages, on PostgreSQL and SQLite.

Starts the real ``webui run`` process against a fresh database (a new PostgreSQL database on
``$SMSGW_BENCH_PG_ADMIN_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``, and
a SQLite file), creates an operator API key with the CLI, then measures:

- single sends: ``POST /api/v1/messages`` with one recipient at concurrency C, every request a
  new number and text. With ``wrk`` on the PATH (Debian package) the load comes from it, for
  ``--seconds`` seconds: a C client costs the shared cores far less than a Python one. Without
  it (or with ``--client aiohttp``) an aiohttp client with keep-alive sends ``--single``
  requests;
- batches: ``POST /api/v1/messages`` with ``--batch-size`` recipients per request;
- CSV batches: ``POST /api/v1/messages/batch`` uploading ``--batch-size`` rows.

Besides requests (or recipients) per second and latency percentiles, it reports the CPU time
the web process spent (and, on PostgreSQL, the database's backends), per request or per
recipient: on a loaded machine throughput follows the load, CPU per request much less so.
Only loopback traffic.

    .venv/bin/python bench/api_ingest.py [--single 2000] [--concurrency 32] [--batches 5]
        [--csv-batches 2] [--seconds 10] [--client auto|wrk|aiohttp] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

VENV_BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get(
    "SMSGW_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SECRET = secrets.token_urlsafe(48)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

WRK_SCRIPT = r"""
local threads = {}
setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
init = function(args)
  key = args[1]
  counter = 0
  unexpected = 0
end
request = function()
  counter = counter + 1
  local n = tid * 10000000 + counter
  local body = string.format('{"to":"+55119%08d","text":"bench message %d"}', n % 100000000, n)
  return wrk.format("POST", "/api/v1/messages",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end
response = function(status, headers, body)
  if status ~= 202 then unexpected = unexpected + 1 end
end
done = function(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("unexpected") end
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "micros": %d, "unexpected": %d, "socket_errors": %d, '
    .. '"p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""


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
    result = subprocess.run(
        [str(VENV_BIN / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{name} {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class Server:
    base: str
    key: str
    pid: int
    database_pids: Callable[[], Awaitable[list[int]]]


@dataclass
class CpuWindow:
    """CPU seconds of the web process and of the database backends over one phase."""

    server: Server
    web: float = 0.0
    database: float = 0.0
    _pids: list[int] = field(default_factory=list)
    _start: dict[int, float] = field(default_factory=dict)

    async def __aenter__(self) -> CpuWindow:
        self._pids = await self.server.database_pids()
        self._start = {pid: cpu_seconds(pid) for pid in [self.server.pid, *self._pids]}
        return self

    async def __aexit__(self, *exc: object) -> None:
        pids = set(self._pids) | set(await self.server.database_pids())
        self.web = cpu_seconds(self.server.pid) - self._start[self.server.pid]
        # A backend that appeared during the phase started from nothing.
        self.database = sum(max(0.0, cpu_seconds(p) - self._start.get(p, 0.0)) for p in pids)

    def per_item(self, count: int) -> dict[str, float]:
        return {
            "server_cpu_ms_per_item": self.web * 1000 / max(count, 1),
            "database_cpu_ms_per_item": self.database * 1000 / max(count, 1),
            "server_cpu_seconds": self.web,
            "database_cpu_seconds": self.database,
        }


@asynccontextmanager
async def postgres_url() -> AsyncIterator[tuple[str, Callable[[], Awaitable[list[int]]]]]:
    name = f"sms_gateway_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')

    async def backends() -> list[int]:
        rows = await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
        return [row["pid"] for row in rows]

    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", backends
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def sqlite_url() -> AsyncIterator[tuple[str, Callable[[], Awaitable[list[int]]]]]:
    async def in_process() -> list[int]:
        return []  # SQLite runs inside the web process: its CPU is the server's

    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{directory}/gateway.db", in_process


@asynccontextmanager
async def web_server(
    db_url: str, log_dir: Path, database_pids: Callable[[], Awaitable[list[int]]]
) -> AsyncIterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "SMSGW_DATABASE_URL": db_url,
        "SMSGW_SECRET_KEY": SECRET,
        "SMSGW_LISTEN": f"127.0.0.1:{port}",
        "SMSGW_LOG_FILE": str(log_dir / "app.log"),
    }
    env.pop("SMSGW_REDIS_URL", None)
    tool("gatewayd", "migrate", env=env)
    key = (
        tool("webui", "create-api-key", "bench", "--role", "operator", env=env)
        .strip()
        .splitlines()[-1]
    )
    process = await asyncio.create_subprocess_exec(
        str(VENV_BIN / "webui"),
        "run",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(1200):
                try:
                    async with session.get(base + "/api/health"):
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        yield Server(base, key, process.pid, database_pids)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def single_sends_aiohttp(server: Server, total: int, concurrency: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"}
    latencies: list[float] = []
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for i in counter:
                body = json.dumps({"to": f"+55119{i % 10**8:08d}", "text": f"bench message {i}"})
                started = time.perf_counter()
                async with session.post(
                    server.base + "/api/v1/messages", data=body, headers=headers
                ) as response:
                    await response.read()
                    if response.status != 202:
                        raise SystemExit(f"unexpected {response.status}")
                latencies.append(time.perf_counter() - started)

        async with CpuWindow(server) as cpu:
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
    return {
        "client": "aiohttp",
        "requests": total,
        "seconds": elapsed,
        "per_second": total / elapsed,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        **cpu.per_item(total),
    }


async def single_sends_wrk(server: Server, seconds: float, concurrency: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        async with CpuWindow(server) as cpu:
            process = await asyncio.create_subprocess_exec(
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{seconds:g}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                server.base,
                "--",
                server.key,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await process.communicate()
    finally:
        os.unlink(script.name)
    lines = [line for line in output.decode().splitlines() if line.startswith("WRK_RESULT ")]
    if process.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed: {output.decode().strip()[-500:]}")
    found = json.loads(lines[-1].split(" ", 1)[1])
    if found["unexpected"] or found["socket_errors"]:
        raise SystemExit(
            f"wrk saw {found['unexpected']} answers other than 202 and "
            f"{found['socket_errors']} socket errors"
        )
    elapsed = found["micros"] / 1e6
    return {
        "client": "wrk",
        "requests": found["requests"],
        "seconds": elapsed,
        "per_second": found["requests"] / elapsed,
        "p50_ms": found["p50_ms"],
        "p95_ms": found["p95_ms"],
        "p99_ms": found["p99_ms"],
        **cpu.per_item(found["requests"]),
    }


def batch_numbers(batch: int, size: int, offset: int) -> list[str]:
    first = offset + batch * size
    return [f"+55119{(first + i) % 10**8:08d}" for i in range(size)]


async def batches(server: Server, count: int, size: int, *, csv: bool) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {server.key}"}
    latencies: list[float] = []
    timeout = aiohttp.ClientTimeout(total=300)
    window = CpuWindow(server)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for b in range(count):
            numbers = batch_numbers(b, size, 70_000_000 if csv else 50_000_000)
            if csv:
                form = aiohttp.FormData()
                form.add_field(
                    "file",
                    ("number\n" + "\n".join(numbers) + "\n").encode(),
                    filename="batch.csv",
                    content_type="text/csv",
                )
                form.add_field("text", "bench csv batch")
                data: Any = form
                url = server.base + "/api/v1/messages/batch"
            else:
                data = json.dumps({"to": numbers, "text": "bench batch"}).encode()
                url = server.base + "/api/v1/messages"
                headers["Content-Type"] = "application/json"
            cpu_before = (window.web, window.database)
            async with window:
                started = time.perf_counter()
                async with session.post(url, data=data, headers=headers) as response:
                    await response.read()
                    if response.status != 202:
                        raise SystemExit(
                            f"unexpected {response.status}: {(await response.text())[:300]}"
                        )
                latencies.append(time.perf_counter() - started)
            window.web += cpu_before[0]
            window.database += cpu_before[1]
    total = count * size
    return {
        "recipients": total,
        "seconds": sum(latencies),
        "per_second": total / sum(latencies),
        "p50_s": percentile(latencies, 0.5),
        "p95_s": percentile(latencies, 0.95),
        **window.per_item(total),
    }


async def measure(name: str, args: argparse.Namespace, client: str) -> dict[str, Any]:
    backends = {"postgresql": postgres_url, "sqlite": sqlite_url}
    with tempfile.TemporaryDirectory() as logs:
        async with backends[name]() as (url, pids), web_server(url, Path(logs), pids) as server:
            if client == "wrk":
                single = await single_sends_wrk(server, args.seconds, args.concurrency)
            else:
                single = await single_sends_aiohttp(server, args.single, args.concurrency)
            batch = await batches(server, args.batches, args.batch_size, csv=False)
            csv_batch = (
                await batches(server, args.csv_batches, args.batch_size, csv=True)
                if args.csv_batches
                else None
            )
    print(
        f"{name}: single sends {single['per_second']:.0f} req/s "
        f"(p50 {single['p50_ms']:.1f} ms, p95 {single['p95_ms']:.1f} ms, "
        f"{single['requests']} requests, concurrency {args.concurrency})"
    )
    print(
        f"{name}: batches {batch['per_second']:.0f} recipients/s "
        f"({args.batch_size} per request: p50 {batch['p50_s']:.2f} s, "
        f"p95 {batch['p95_s']:.2f} s)"
    )
    if csv_batch is not None:
        print(
            f"{name}: CSV batches {csv_batch['per_second']:.0f} recipients/s "
            f"({args.batch_size} rows per upload: p50 {csv_batch['p50_s']:.2f} s, "
            f"p95 {csv_batch['p95_s']:.2f} s)"
        )
    print(
        f"{name}: CPU per single send: web {single['server_cpu_ms_per_item']:.3f} ms, "
        f"database {single['database_cpu_ms_per_item']:.3f} ms ({single['client']} client); "
        f"per batch recipient: web {batch['server_cpu_ms_per_item'] * 1000:.1f} µs, "
        f"database {batch['database_cpu_ms_per_item'] * 1000:.1f} µs"
    )
    return {"single": single, "batch": batch, "csv_batch": csv_batch}


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--single", type=int, default=2000, help="single-send requests (aiohttp client)"
    )
    parser.add_argument(
        "--seconds", type=float, default=10, help="how long wrk sends single requests"
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batches", type=int, default=5, help="10,000-recipient requests")
    parser.add_argument("--csv-batches", type=int, default=2, help="CSV uploads (0: none)")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--only", choices=("postgresql", "sqlite"))
    parser.add_argument("--client", choices=("auto", "wrk", "aiohttp"), default="auto")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "aiohttp"
    elif client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")
    results: dict[str, Any] = {"load_average_before": load_average(), "client": client}
    for name in ("postgresql", "sqlite"):
        if args.only and args.only != name:
            continue
        results[name] = await measure(name, args, client)
    results["load_average_after"] = load_average()
    print(
        f"load average before {results['load_average_before']}, "
        f"after {results['load_average_after']}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
