"""What preparing the next part ahead buys: the throughput runs of benchmark 1 (and one of 2)
with ``[gateway] prepare_ahead`` set to ``always`` and ``never``, alternated, several runs
each, medians compared (the simulated modems deliver reports directly, where ``auto`` would
mean ``never``).

With ``prepare_ahead`` a modem's next part is committed ``sending`` while the current one is
on the wire and written the moment the modem answers; without it, the part is prepared in the
transaction that records the answer, and written after that commit. The price of the first is
doubt at a crash: a prepared part that was never written is ``unknown`` for ever (no report
can come for it). Run: ``.venv/bin/python bench/prepare_ahead.py [--runs 3] [--quick]``;
writes ``bench/results/prepare_ahead.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, say, write_result
from bench.throughput import throughput_run

FIGURES = ("ratio", "rate_sms_per_s", "gatewayd_cpu_ms_per_part", "other_cpu_percent")


def plan(quick: bool) -> list[tuple[str, int, float, int]]:
    """(database, modems, latency ms, messages) of each compared run."""
    return [
        ("sqlite", 1, 50.0, 150 if quick else 500),
        ("postgresql", 1, 50.0, 150 if quick else 500),
        ("postgresql", 1, 1000.0, 10 if quick else 40),
        ("postgresql", 8, 200.0, 400 if quick else 1200),
    ]


async def compare(runs: int, quick: bool) -> Result:
    rows = []
    for kind, modems, latency, messages in plan(quick):
        samples: dict[bool, list[Result]] = {True: [], False: []}
        for turn in range(runs):
            for ahead in (True, False):  # alternated, so a busy spell hits both alike
                say(
                    f"{kind}, {modems} modem(s) at {latency:g} ms, {messages} messages, "
                    f"prepare_ahead={ahead}, run {turn + 1}/{runs}"
                )
                run = await throughput_run(
                    kind,
                    modems=modems,
                    latency_ms=latency,
                    messages=messages,
                    tag=f"ahead{int(ahead)}{modems}{kind[:2]}",
                    gateway_options={"prepare_ahead": "always" if ahead else "never"},
                )
                run["load_average"] = os.getloadavg()
                say(f"  ratio {run['ratio']:.4f}, others' CPU {run['other_cpu_percent']} %")
                samples[ahead].append(run)
        rows.append(
            {
                "database": kind,
                "modems": modems,
                "latency_ms": latency,
                "messages": messages,
                "with": medians(samples[True]),
                "without": medians(samples[False]),
                "runs_with": [pick(r) for r in samples[True]],
                "runs_without": [pick(r) for r in samples[False]],
            }
        )
    result = {
        "title": "Preparing the next part ahead, on and off",
        "note": f"{runs} runs of each, alternated; medians. The machine may be shared: see "
        "other_cpu_percent and load_average of each run.",
        "rows": rows,
    }
    write_result("prepare_ahead", result)
    return result


def pick(run: Result) -> dict[str, Any]:
    return {key: run[key] for key in (*FIGURES, "load_average")}


def medians(runs: list[Result]) -> dict[str, float]:
    return {key: round(statistics.median(r[key] for r in runs), 4) for key in FIGURES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(compare(args.runs, args.quick))
    for row in result["rows"]:
        say(
            f"{row['database']} {row['modems']}x{row['latency_ms']:g} ms: "
            f"with {row['with']} / without {row['without']}"
        )


if __name__ == "__main__":
    main()
