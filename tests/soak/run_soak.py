"""The soak: 16 simulated modems sending and 100 API clients for DURATION, then the verdict.

Run by ``make soak`` (``make soak DURATION=300`` for five minutes; the default is 1800 s).
Everything runs on this machine (loopback): a migrated database of its own on the shared
PostgreSQL (dropped afterwards), a private Redis, ``gatewayd simulate``, ``gatewayd run`` and
``webui run`` as processes. It samples gatewayd's resident memory every 10 s and reads its
``gatewayd stats`` lines (asyncio task count), then prints one JSON report and exits 1 when
something is wrong (:func:`verdict`): a 5xx or a request without an answer, a lost, doubled,
phantom or unsettled message, an accepted message missing from the database, memory growing
between the first and last third of the run (more than 10 %), tasks growing (more than 10),
too few samples of either to judge (a run shorter than about a minute), or a p95 above 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from gatewayd.store import Database
from tests.peers.helpers import wait_until_async
from tests.support.audit import Audit, audit_database
from tests.support.daemons import run_migrate
from tests.support.load import LoadFigures, drive_clients, running_stack, sample_process

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
P95_LIMIT_MS = 200.0
RSS_GROWTH_LIMIT = 0.10
"""Largest growth of the mean RSS from the first to the last third of the run."""
TASK_GROWTH_LIMIT = 10
MIN_SAMPLES = 3
"""Fewer samples of a curve than this and its growth cannot be judged: the run fails."""


def thirds(samples: Sequence[tuple[float, int]]) -> tuple[float, float]:
    """Mean of the first and last third of the (time, value) samples."""
    values = [v for _, v in samples]
    third = max(1, len(values) // 3)
    return statistics.fmean(values[:third]), statistics.fmean(values[-third:])


def verdict(
    audit: Audit,
    figures: LoadFigures,
    rss: Sequence[tuple[float, int]],
    tasks: Sequence[tuple[float, int]],
) -> list[str]:
    """What is wrong with a soak run (nothing: an empty list), from its figures: the audit of
    every message against the ledger, the clients' answers, gatewayd's resident memory
    samples and its asyncio task counts, each a list of (time, value)."""
    problems = audit.problems()
    accepted = len(figures.sent_ids)
    if not accepted:
        problems.append("no message was accepted: nothing was tested")
    elif audit.messages != accepted:
        problems.append(f"{accepted} messages accepted, {audit.messages} in the database")
    if figures.server_errors:
        problems.append(f"{figures.server_errors} server errors")
    failed = sum(figures.errors.values())
    if failed:
        problems.append(f"{failed} requests got no answer {dict(figures.errors)}")
    for name, samples in (("memory", rss), ("asyncio task", tasks)):
        if len(samples) < MIN_SAMPLES:
            problems.append(f"{len(samples)} {name} samples: too few to judge growth")
    if len(rss) >= MIN_SAMPLES:
        rss_first, rss_last = thirds(rss)
        if rss_last > rss_first * (1 + RSS_GROWTH_LIMIT):
            problems.append(f"gatewayd memory grew by more than {RSS_GROWTH_LIMIT:.0%}")
    if len(tasks) >= MIN_SAMPLES:
        tasks_first, tasks_last = thirds(tasks)
        if tasks_last > tasks_first + TASK_GROWTH_LIMIT:
            problems.append(f"gatewayd asyncio tasks grew by more than {TASK_GROWTH_LIMIT}")
    p95_ms = (figures.percentile(95) or 0) * 1000
    if p95_ms > P95_LIMIT_MS:
        problems.append(f"p95 {p95_ms:.2f} ms above {P95_LIMIT_MS} ms")
    return problems


async def soak(seconds: float, modems: int, clients: int, work: Path) -> dict[str, object]:
    name = f"sms_gateway_soak_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL.replace("postgresql://", "postgres://"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        await run_migrate({"SMSGW_DATABASE_URL": url})
        db = Database(url)
        async with running_stack(
            url, work, modems=modems, latency_ms=20, report_delay_ms=500
        ) as stack:
            samples: list[tuple[float, int]] = []
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample_process(stack.gateway.pid, 10, samples, stop))
            started = time.monotonic()
            figures = await drive_clients(
                stack, clients=clients, seconds=seconds, sends_per_second=modems * 1.5
            )
            stop.set()
            await sampler

            async def settled() -> bool:
                return not (await audit_database(db, stack.simulator.ledger())).unsettled

            await wait_until_async(settled, timeout=300, what="every message sent")
            audit = await audit_database(db, stack.simulator.ledger())
            stats = stack.gateway.log_events("gatewayd stats")
            await db.close()
        tasks = [(0.0, int(e["tasks"])) for e in stats if "tasks" in e]
        rss_first, rss_last = thirds(samples) if samples else (0.0, 0.0)
        tasks_first, tasks_last = thirds(tasks) if tasks else (0.0, 0.0)
        summary = figures.summary()
        report: dict[str, object] = {
            "seconds": round(time.monotonic() - started),
            "modems": modems,
            "clients": clients,
            **summary,
            "audit": audit.figures(),
            "rss_kb_first_third_mean": round(rss_first),
            "rss_kb_last_third_mean": round(rss_last),
            "rss_growth_percent": round(100 * (rss_last - rss_first) / rss_first, 1)
            if rss_first
            else None,
            "rss_samples": len(samples),
            "rss_mb_by_minute": [round(rss / 1024, 1) for _, rss in samples[::6]],
            "tasks_by_minute": [n for _, n in tasks[::4]],
            "tasks_first_third_mean": round(tasks_first, 1),
            "tasks_last_third_mean": round(tasks_last, 1),
            "stats_lines": len(stats),
        }
        report["problems"] = verdict(audit, figures, samples, tasks)
        return report
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1800)
    parser.add_argument("--modems", type=int, default=16)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--report", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smsgw-soak-") as work:
        report = asyncio.run(soak(args.seconds, args.modems, args.clients, Path(work)))
    text = json.dumps(report, indent=2, sort_keys=True)
    print(text)
    if args.report is not None:
        args.report.write_text(text + "\n", encoding="utf-8")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
