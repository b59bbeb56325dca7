"""Benchmark 7a: incoming messages evaluated per second through 100 enabled rules, on
PostgreSQL and SQLite (target: at least 1,000 a second).

A throwaway database gets 100 enabled rules of every condition kind (60 keywords, 20 sender
prefixes, 15 regular expressions, 5 time windows; the actions of the few that match are tags
and one reply), then incoming messages are written at once and the rules' runner
(:func:`webui.services.rule_runner.run_rules`, the code the web process runs) is timed until
its cursor has passed them all, batch by batch in its own transactions. Replies go through
the real enqueue path (suppression lists included).

Run alone: .venv/bin/python -m bench.rules [--quick] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.common import Result, say, write_result
from bench.stack import migrated, throwaway_database
from bench.verdict import MIN_RUNS, Spread, at_least
from gatewayd.store import Database, incoming_messages, rules, utc_now
from webui.services.rule_runner import RuleCache, run_rules

TARGET_PER_S = 1000.0
RULES = 100
DATABASES = ("postgresql", "sqlite")


def rule_rows() -> list[dict[str, Any]]:
    tag = [{"type": "tag", "tag": "seen"}]
    rows: list[dict[str, Any]] = []
    for i in range(60):
        rows.append({"name": f"kw{i}", "match": {"keyword": f"word{i}"}, "actions": tag})
    for i in range(20):
        rows.append({"name": f"from{i}", "match": {"from": f"+55{21 + i}"}, "actions": tag})
    for i in range(15):
        rows.append(
            {"name": f"re{i}", "match": {"regex": rf"order\s+#?{i}\d{{3}}\b"}, "actions": tag}
        )
    for i in range(5):
        window = {"start": "00:00", "end": "23:59", "weekdays": [1, 2, 3, 4, 5, 6, 7], "tz": "UTC"}
        actions = [{"type": "reply", "text": "Got {rest}"}] if i == 0 else tag
        rows.append(
            {"name": f"t{i}", "match": {"time": window, "keyword": f"hours{i}"}, "actions": actions}
        )
    now = utc_now()
    return [
        {**row, "position": n, "enabled": True, "stop": False, "created_at": now, "updated_at": now}
        for n, row in enumerate(rows)
    ]


def incoming_rows(count: int, run: int) -> list[dict[str, Any]]:
    now = utc_now()
    texts = (
        "hello there, is anyone reading this?",
        "word7 please",
        "order #31234 status",
        "hours0 when",
    )
    return [
        {
            "sender": f"+55119{(run * count + i) % 10**8:08d}",
            "text": texts[i % len(texts)],
            "modem": "sim0",
            "received_at": now,
            "dedupe_key": f"bench-{run}-{i}",
        }
        for i in range(count)
    ]


async def one_run(db: Database, count: int, run: int) -> float:
    cache = RuleCache()
    async with db.begin() as conn:  # the cursor starts at the newest message
        await run_rules(conn, utc_now(), commit_lag=0, region=None, cache=cache)
        await conn.execute(insert(incoming_messages), incoming_rows(count, run))
    started = time.perf_counter()
    done = 0
    while done < count:
        async with db.begin() as conn:
            n, _ = await run_rules(conn, utc_now(), commit_lag=0, region=None, cache=cache)
        if n == 0:
            raise RuntimeError(f"the runner stopped after {done} of {count} messages")
        done += n
    return count / (time.perf_counter() - started)


async def bench_rules(quick: bool, runs: int = MIN_RUNS) -> Result:
    count = 2000 if quick else 10_000
    measured: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as work:
        for database in DATABASES:
            for run in range(runs):
                async with throwaway_database(database, Path(work), f"rules{run}") as url:
                    db = await migrated(url)
                    try:
                        async with db.begin() as conn:
                            await conn.execute(insert(rules), rule_rows())
                        rate = await one_run(db, count, run)
                    finally:
                        await db.close()
                say(
                    f"rules: {database} run {run + 1}: {rate:,.0f} messages/s through {RULES} rules"
                )
                measured.append(
                    {"database": database, "per_s": rate, "messages": count, "rules": RULES}
                )
    verdicts = {
        database: at_least(
            [m["per_s"] for m in measured if m["database"] == database], TARGET_PER_S
        )
        for database in DATABASES
    }
    result: Result = {
        "title": "Rules on incoming SMS",
        "measured": True,
        "target": f">= {TARGET_PER_S:,.0f} messages/s through {RULES} enabled rules",
        "runs": measured,
        "met": verdicts,
    }
    write_result("rules", result)
    for database in DATABASES:
        spread = Spread.of(m["per_s"] for m in measured if m["database"] == database)
        say(f"rules: {database}: {spread.text(0, thousands=True, unit=' messages/s')}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=MIN_RUNS)
    args = parser.parse_args()
    asyncio.run(bench_rules(args.quick, args.runs))


if __name__ == "__main__":
    main()
