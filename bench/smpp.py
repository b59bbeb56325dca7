"""Benchmark: the SMPP server's speed, side by side in one run, on PostgreSQL and SQLite.

- ``submit_sm`` accepted and durably queued per second by one transceiver keeping a window of
  10, then of 100, requests outstanding, with the latency of each ``submit_sm_resp``;
- receipts delivered per second to a bound receiver that acknowledges everything: final-state
  messages of the account, with a receipt asked for, are written as the server's derive step
  reads them (``messages``, ``smpp_submits``, a final ``message_events`` row) while the
  receiver is bound, and the arrivals of their ``deliver_sm`` are timed;
- Kannel's bearerbox as an ESME through us (:mod:`bench.smpp_peers`), and Jasmin's SMPP server
  driven by the same client (:mod:`bench.jasmin_peer`).

The server is a real ``webui smpp`` process on a migrated throwaway database (PostgreSQL
``smppbench_*`` with Redis wake-ups on a database index of its own, or an SQLite file); the
client is :mod:`bench.smpp_esme` in a process of its own. Every figure is computed here from
the client's raw timings and stored unrounded, one entry per run.

Run alone: .venv/bin/python -m bench.smpp [--quick] [--runs 3] [--database postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert, update

from bench.common import PartFailed, Result, percentile, say, write_result
from bench.procs import Proc, cpu_seconds, postgres_backends, run_to_end
from bench.stack import PG_ADMIN_URL, prepared_messages, work_directory
from bench.verdict import MIN_RUNS
from gatewayd.queue.enqueue import enqueue
from gatewayd.store import (
    Database,
    accounts,
    message_events,
    message_parts,
    messages,
    smpp_submits,
    utc_now,
)
from webui.auth.passwords import hash_password

SUBMIT_TARGET_PER_S = 5000.0
"""On PostgreSQL, one transceiver."""
P99_LIMIT_MS = 50.0
RECEIPT_TARGET_PER_S = 2000.0
WINDOWS = (10, 100)
DATABASES = ("postgresql", "sqlite")
REDIS_URL = os.environ.get("BENCH_SMPP_REDIS_URL", "redis://127.0.0.1:6379/13")
VENV_BIN = Path(sys.executable).parent
REPO_ROOT = str(Path(__file__).resolve().parent.parent)
SYSTEM_ID = "bench"
PASSWORD = "bench123"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def database(kind: str, work: Path) -> AsyncIterator[str]:
    """A new empty database (``smppbench_*`` on PostgreSQL), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{work / 'smppbench.db'}"
        return
    name = f"smppbench_{os.getpid()}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def add_account(url: str) -> int:
    db = Database(url)
    try:
        async with db.begin() as conn:
            row = {
                "name": SYSTEM_ID,
                "name_key": SYSTEM_ID,
                "system_id": SYSTEM_ID,
                "smpp_password_hash": hash_password(PASSWORD),
                "created_at": utc_now(),
                "created_by": "bench",
            }
            found = await conn.execute(insert(accounts).values(**row).returning(accounts.c.id))
            return int(found.scalar_one())
    finally:
        await db.close()


class Server:
    """``webui smpp`` on ``url`` with a window of 100 allowed per bind."""

    def __init__(self, work: Path, url: str) -> None:
        self.port = _free_port()
        config = work / "smpp.toml"
        config.write_text(
            f'[smpp]\nlisten = "127.0.0.1:{self.port}"\nwindow = {max(WINDOWS)}\n'
            "poll_interval = 0.5\n",
            encoding="utf-8",
        )
        self.env = {
            "SMSGW_DATABASE_URL": url,
            "SMSGW_DATA_DIR": str(work / "data"),
            "SMSGW_LOG_FILE": str(work / "smpp.log"),
            "SMSGW_LOG_LEVEL": "WARNING",
        }
        if url.startswith("postgresql"):
            self.env["SMSGW_REDIS_URL"] = REDIS_URL
        self.proc = Proc(
            "webui-smpp",
            [str(VENV_BIN / "webui"), "smpp", "--config", str(config)],
            work / "logs",
            env=self.env,
        )

    async def start(self) -> None:
        await self.proc.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            if not self.proc.running:
                break
            await asyncio.sleep(0.1)
        raise RuntimeError(f"webui smpp did not listen: {self.proc.output()}")


async def esme(*args: str, timeout: float) -> dict[str, Any]:
    out = await run_to_end(
        [sys.executable, "-m", "bench.smpp_esme", *args],
        env={"PYTHONPATH": REPO_ROOT},
        timeout=timeout,
    )
    found: dict[str, Any] = json.loads(out)
    return found


def database_cpu(url: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends of ``url``'s database (0 for SQLite,
    which runs inside the server)."""
    if not url.startswith("postgresql"):
        return 0.0
    return sum(cpu_seconds(pid) for pid in postgres_backends(url.rsplit("/", 1)[1]))


async def submits(
    port: int, window: int, count: int, cpu: dict[str, Callable[[], float]]
) -> dict[str, Any]:
    """``count`` submit_sm from one transceiver bound as ``SYSTEM_ID`` on ``port``, ``window``
    outstanding: the rate of ``ESME_ROK`` answers, their latency, and the CPU seconds each of
    ``cpu``'s readers counted meanwhile (as ``NAME_cpu_s``)."""
    cpu_before = {name: read() for name, read in cpu.items()}
    load = os.getloadavg()[0]
    got = await esme(
        "submit",
        "--port",
        str(port),
        "--system-id",
        SYSTEM_ID,
        "--password",
        PASSWORD,
        "--count",
        str(count),
        "--window",
        str(window),
        "--max-seconds",
        "150",
        timeout=240,
    )
    latencies: list[float] = got["latencies_s"]
    ok = got["statuses"].get("0x0", 0)
    span = got["last_answer"] - got["first_sent"]
    return {
        "window": window,
        "sent": got["sent"],
        "answered": got["answered"],
        "accepted": ok,
        "statuses": got["statuses"],
        "seconds": span,
        "per_s": ok / span if span > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies, default=float("nan")) * 1000,
        **{f"{name}_cpu_s": read() - cpu_before[name] for name, read in cpu.items()},
        "client_cpu_s": got["cpu_s"],
        "load_average_1m": load,
    }


async def submit_run(server: Server, url: str, window: int, count: int) -> dict[str, Any]:
    cpu = {"server": lambda: cpu_seconds(server.proc.pid), "database": lambda: database_cpu(url)}
    return await submits(server.port, window, count, cpu)


async def preload_final(url: str, account_id: int, count: int) -> None:
    """``count`` delivered messages of the account, each with a receipt asked for, as gatewayd
    leaves them: parts and message settled, the message-level final event written."""
    db = Database(url)
    try:
        now = utc_now()
        past = now - timedelta(seconds=10)
        async with db.begin() as conn:
            ids, _ = await enqueue(
                conn,
                prepared_messages(count, text="SMPP receipt benchmark"),
                created_by=f"smpp:{SYSTEM_ID}",
                account_id=account_id,
                now=past,
            )
            await conn.execute(
                insert(smpp_submits),
                [
                    {
                        "message_id": message_id,
                        "account_id": account_id,
                        "registered_delivery": 1,
                        "source_addr": "BENCH",
                        "source_addr_ton": 5,
                        "source_addr_npi": 0,
                        "destination_addr": str(5511987600000 + index),
                        "dest_addr_ton": 1,
                        "dest_addr_npi": 1,
                        "data_coding": 0,
                        "esm_class": 0,
                        "service_type": "",
                        "user_message_reference": None,
                    }
                    for index, message_id in enumerate(ids)
                ],
            )
            settled = {"sent_at": past, "submitted_at": past, "delivered_at": past}
            await conn.execute(
                update(message_parts)
                .where(message_parts.c.message_id.in_(ids))
                .values(status="delivered", modem="sim0", **settled)
            )
            await conn.execute(
                update(messages).where(messages.c.id.in_(ids)).values(status="delivered")
            )
            await conn.execute(
                insert(message_events),
                [
                    {"message_id": message_id, "part_seq": None, "status": "delivered", "at": past}
                    for message_id in ids
                ],
            )
    finally:
        await db.close()


async def receipt_run(server: Server, url: str, account_id: int, count: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    receiver = asyncio.create_task(
        esme(
            "receive",
            "--port",
            str(server.port),
            "--system-id",
            SYSTEM_ID,
            "--password",
            PASSWORD,
            "--count",
            str(count),
            "--max-seconds",
            "120",
            timeout=180,
        )
    )
    await asyncio.sleep(1.0)  # the receiver binds before the rows exist
    written = time.perf_counter()
    await preload_final(url, account_id, count)
    got = await receiver
    arrivals: list[float] = got["arrivals"]
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    return {
        "count": count,
        "delivered": len(arrivals),
        "receipts": got["receipts"],
        "seconds": span,
        "per_s": (len(arrivals) - 1) / span if span > 0 else 0.0,
        "first_after_commit_s": arrivals[0] - written if arrivals else float("nan"),
        "load_average_1m": load,
    }


def submit_count(quick: bool) -> int:
    """submit_sm per run, for us and for Jasmin alike."""
    return 3000 if quick else 15000


async def one_database(kind: str, quick: bool, runs: int) -> dict[str, Any]:
    count = submit_count(quick)
    receipts = 2000 if quick else 10000
    with work_directory(f"smpp-{kind}") as work:
        async with database(kind, work) as url:
            env = {"SMSGW_DATABASE_URL": url, "SMSGW_DATA_DIR": str(work / "data")}
            await run_to_end([str(VENV_BIN / "gatewayd"), "migrate"], env=env)
            account_id = await add_account(url)
            server = Server(work, url)
            await server.start()
            try:
                found: dict[str, Any] = {"submit": {}, "receipts": []}
                for window in WINDOWS:
                    entries = []
                    for run in range(runs):
                        entry = await submit_run(server, url, window, count)
                        say(
                            f"smpp {kind} window {window} run {run + 1}: "
                            f"{entry['per_s']:.0f} submit_sm/s, p99 {entry['p99_ms']:.1f} ms"
                        )
                        entries.append(entry)
                    found["submit"][str(window)] = entries
                for run in range(runs):
                    entry = await receipt_run(server, url, account_id, receipts)
                    say(f"smpp {kind} receipts run {run + 1}: {entry['per_s']:.0f} deliver_sm/s")
                    found["receipts"].append(entry)
                return found
            finally:
                await server.proc.stop()


async def bench_smpp(quick: bool, runs: int = MIN_RUNS, only: str | None = None) -> Result:
    from bench.jasmin_peer import bench_jasmin
    from bench.smpp_peers import bench_kannel

    result: Result = {
        "title": "SMPP server: submit_sm/s, receipts/s, Kannel and Jasmin",
        "targets": {
            "submit_per_s_postgresql": SUBMIT_TARGET_PER_S,
            "p99_ms": P99_LIMIT_MS,
            "receipts_per_s": RECEIPT_TARGET_PER_S,
        },
        "quick": quick,
        "databases": {},
    }
    for kind in DATABASES if only is None else (only,):
        result["databases"][kind] = await one_database(kind, quick, runs)
        write_result("smpp", result)
    if only is None:
        result["kannel"] = await bench_kannel(quick, runs)
        write_result("smpp", result)
        try:
            result["jasmin"] = await bench_jasmin(quick, runs)
        except Exception as error:
            result["jasmin"] = {"measured": False, "failed": True, "note": f"failed: {error}"}
            write_result("smpp", result)
            raise PartFailed(f"jasmin: {error}") from error
    write_result("smpp", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=MIN_RUNS)
    parser.add_argument("--database", choices=DATABASES)
    args = parser.parse_args()
    asyncio.run(bench_smpp(args.quick, args.runs, args.database))


if __name__ == "__main__":
    main()
