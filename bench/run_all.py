"""Run every benchmark, write ``bench/results/*.json`` and rewrite ``docs/benchmarks.md``.

Run: .venv/bin/python bench/run_all.py [--quick] [--runs N] [--only NAME[,NAME]]
(``make bench``). Names: codec, limit, scale, latency, at_size, side_by_side, ingest, rules,
email, smpp. Every benchmark with a target runs each set-up ``--runs`` times (default 3, the
fewest a verdict is taken from); the codec speed runs once. The full run takes about 65
minutes on a quiet 2-core machine; ``--quick`` (fewer messages, shorter caps) about 15 and
writes to ``bench/results/quick/`` (its page included) instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report
from bench.at_size import bench_at_size
from bench.common import BENCH_DIR, QUICK_RESULTS_DIR, PartFailed, Result, say, write_result
from bench.email_ingest import bench_email
from bench.ingest import bench_ingest
from bench.latency import bench_latency
from bench.rules import bench_rules
from bench.side_by_side import bench_side_by_side
from bench.smpp import bench_smpp
from bench.throughput import bench_limit, bench_scale
from bench.verdict import MIN_RUNS
from gatewayd.logging_setup import configure_logging


async def bench_codec(quick: bool, runs: int) -> Result:
    """The existing codec micro-benchmark, its printed figures kept as they are."""
    seconds = "1" if quick else "3"
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(BENCH_DIR / "codec_speed.py"), "--seconds", seconds],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = {"title": "PDU codec speed (bench/codec_speed.py)", "output": done.stdout.splitlines()}
    write_result("codec_speed", result)
    return result


BENCHMARKS: dict[str, Callable[[bool, int], Awaitable[Result]]] = {
    "codec": bench_codec,
    "limit": bench_limit,
    "scale": bench_scale,
    "latency": bench_latency,
    "at_size": bench_at_size,
    "side_by_side": bench_side_by_side,
    "ingest": bench_ingest,
    "rules": bench_rules,
    "email": bench_email,
    "smpp": bench_smpp,
}


async def run(names: list[str], quick: bool, runs: int = MIN_RUNS) -> list[str]:
    failed = []
    for name in names:
        started = time.monotonic()
        try:
            await BENCHMARKS[name](quick, runs)
        except PartFailed as error:
            failed.append(name)
            say(f"{name} failed: {error}")
        except Exception as error:  # one broken benchmark must not hide the others' figures
            failed.append(name)
            say(f"{name} failed: {error}")
            write_result(
                name if name != "codec" else "codec_speed",
                {
                    "title": name,
                    "failed": True,
                    "error": str(error)[:2000],
                    "traceback": traceback.format_exc()[-4000:],
                },
            )
        say(f"{name} took {time.monotonic() - started:.0f} s")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages, shorter caps")
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument(
        "--runs", type=int, default=MIN_RUNS, help=f"runs of each set-up (default {MIN_RUNS})"
    )
    parser.add_argument("--no-report", action="store_true", help="leave docs/benchmarks.md")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHMARKS)}")
    configure_logging(None, "WARNING")
    if args.quick:
        os.environ["BENCH_RESULTS_DIR"] = str(QUICK_RESULTS_DIR)
    started = time.monotonic()
    failed = asyncio.run(run(names, args.quick, args.runs))
    if not args.no_report:
        report.main()
    say(
        f"all done in {(time.monotonic() - started) / 60:.1f} min"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
