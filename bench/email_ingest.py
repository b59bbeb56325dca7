"""Benchmark 7b: emails turned into queued SMS per second, through ``webui smtp``.

Runs ``webui smtp`` against a throwaway database (PostgreSQL and SQLite) with the loopback
network allow-listed, and drives it from asyncio SMTP clients (aiosmtplib) on the same
machine: ``CLIENTS`` connections kept open, each sending mails one after another (one
recipient each, a subject and a short body, as an alerting system sends them). The mails are
written as bytes up front (the same headers ``EmailMessage.set_content`` writes), so the
client spends its CPU on SMTP, not on building and flattening messages: it shares the two
cores with the server. The figure is mails answered
``250`` (their SMS committed) per second over the measured window; the verdict is taken on the
median of the runs (:mod:`bench.verdict`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Any

import aiosmtplib
from sqlalchemy import func, select

from bench.common import VENV_BIN, Result, say, write_result
from bench.procs import CpuWindow, Proc, postgres_backends, process_tree, run_to_end
from bench.stack import recipient, throwaway_database, work_directory
from bench.verdict import MIN_RUNS
from gatewayd.logging_setup import configure_logging
from gatewayd.store import Database, messages

TARGET_PER_S = 200.0
DATABASES = ("postgresql", "sqlite")
CLIENTS = 32


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SENDER = "monitor@bench.example"


def _mail(index: int) -> tuple[str, bytes]:
    """The envelope recipient and the mail."""
    to = f"{recipient(index).lstrip('+')}@sms.bench.example"
    content = (
        f"From: {SENDER}\r\n"
        f"To: {to}\r\n"
        f"Subject: Alert {index}: disk usage\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: 7bit\r\n"
        "MIME-Version: 1.0\r\n"
        "\r\n"
        f"/var is 91% full on host-{index % 50}.\r\n-- \r\nmonitoring\r\n"
    )
    return to, content.encode("ascii")


async def _start_smtp(work: Path, url: str) -> tuple[Proc, int]:
    port = _free_port()
    env = {
        **os.environ,
        "SMSGW_DATABASE_URL": url,
        "SMSGW_SECRET_KEY": secrets.token_urlsafe(32),
        "SMSGW_DATA_DIR": str(work / "data"),
        "SMSGW_LOG_FILE": str(work / "webui-smtp.log"),
        "SMSGW_LOG_LEVEL": "WARNING",
        "SMSGW_SMTP_LISTEN": f"127.0.0.1:{port}",
        "SMSGW_SMTP_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    env.pop("SMSGW_REDIS_URL", None)
    await run_to_end([str(VENV_BIN / "gatewayd"), "migrate"], env=env)
    proc = Proc("webui-smtp", [str(VENV_BIN / "webui"), "smtp"], work / "logs", env=env)
    await proc.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return proc, port
        except OSError:
            if not proc.running or time.monotonic() > deadline:
                raise RuntimeError(f"webui smtp did not come up:\n{proc.output()}") from None
            await asyncio.sleep(0.2)


async def _client(port: int, first: int, count: int, deadline: float) -> int:
    mails = [_mail(index) for index in range(first, first + count)]
    sent = 0
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
        for to, content in mails:
            if time.monotonic() > deadline:
                break
            errors, _ = await client.sendmail(SENDER, [to], content)
            if not errors:
                sent += 1
    return sent


async def measure(port: int, total: int, seconds: float) -> dict[str, Any]:
    per_client = total // CLIENTS
    started = time.monotonic()
    done = await asyncio.gather(
        *(_client(port, i * per_client, per_client, started + seconds) for i in range(CLIENTS))
    )
    elapsed = time.monotonic() - started
    return {"mails": sum(done), "seconds": round(elapsed, 3), "per_s": sum(done) / elapsed}


async def email_on(database: str, quick: bool) -> dict[str, Any]:
    say(f"email: {database}")
    total = 1000 if quick else 4000
    with work_directory(f"email-{database}") as work:
        async with throwaway_database(database, work, "email") as url:
            proc, port = await _start_smtp(work, url)
            name = url.rsplit("/", 1)[1] if database == "postgresql" else ""
            window = CpuWindow(
                {
                    "webui_smtp": lambda: process_tree(proc.pid),
                    "postgresql": lambda: postgres_backends(name) if name else [],
                    "load_generator": lambda: [os.getpid()],
                }
            )
            try:
                await measure(port, CLIENTS * 10, 30)  # warm-up: connections, caches
                window.start()
                run = await measure(port, total, 60)
                run.update(window.stop())
                for source, key in (
                    ("webui_smtp", "server_cpu_ms_per_mail"),
                    ("load_generator", "client_cpu_ms_per_mail"),
                    ("postgresql", "postgresql_cpu_ms_per_mail"),
                ):
                    cpu_share = run[f"{source}_cpu_percent"] / 100
                    run[key] = round(1000 * cpu_share * run["window_s"] / max(run["mails"], 1), 3)
            finally:
                await proc.stop()
            db = Database(url)
            try:
                async with db.read() as conn:
                    queued = (
                        await conn.execute(select(func.count()).select_from(messages))
                    ).scalar_one()
            finally:
                await db.close()
    run.update(database=database, queued_sms=int(queued))
    say(f"email: {database}: {run['per_s']:.0f} mails/s")
    return run


async def bench_email(quick: bool, runs: int = MIN_RUNS) -> Result:
    result: Result = {
        "title": "Email to SMS (webui smtp, loopback aiosmtplib clients)",
        "measured": True,
        "target": f"median >= {TARGET_PER_S:g} mails/s turned into queued SMS",
        "note": f"{CLIENTS} SMTP connections from the allow-listed loopback network, one "
        "recipient per mail; a mail counts once answered 250 (its SMS committed). The client "
        "runs on the same 2 cores (its CPU per mail is listed); others' CPU is load this run "
        "did not make.",
        "runs": [],
    }
    for repeat in range(runs):
        for database in DATABASES:
            run = await email_on(database, quick)
            run["repeat"] = repeat
            result["runs"].append(run)
            write_result("email", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=MIN_RUNS)
    args = parser.parse_args()
    configure_logging(None, "WARNING")
    asyncio.run(bench_email(args.quick, args.runs))


if __name__ == "__main__":
    main()
