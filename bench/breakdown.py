"""Where the time between two AT+CMGS exchanges goes: the embedded gateway on one simulated
modem, with the send path's steps timed (claim, parts committed ``sending``, the pipeline's
step transaction, the AT exchange, status reports applied). Evidence for the throughput
findings; prints medians and p90s in ms.

Run: .venv/bin/python -m bench.breakdown [--db sqlite|postgresql] [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from bench.common import Result, percentile, say, write_result
from bench.embedded import embedded
from bench.stack import enqueue_all, prepared_messages, throwaway_database, work_directory
from gatewayd.modem.at_driver import AtModem
from gatewayd.queue import progress, reports
from gatewayd.worker import pipeline as sender
from gatewayd.worker import supervisor as worker

Timings = dict[str, list[float]]


def _timed(timings: Timings, name: str, function: Callable[..., Awaitable[Any]]) -> Any:
    @functools.wraps(function)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await function(*args, **kwargs)
        finally:
            ended = time.perf_counter()
            timings[name].append(ended - started)
            timings[f"{name}@end"].append(ended)
            timings[f"{name}@start"].append(started)

    return wrapper


async def breakdown(
    kind: str, messages: int, latency_ms: float, report_delay_ms: float = 200.0
) -> Result:
    timings: Timings = defaultdict(list)
    patches = [
        (worker, "claim_due"),
        (progress, "parts_sending"),
        (sender.SendPipeline, "_advance"),
        (reports, "apply_status_reports"),
        (AtModem, "send_pdu"),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name in patches]
    for owner, name, function in originals:
        setattr(owner, name, _timed(timings, name, function))
    try:
        with work_directory("breakdown") as work:
            async with (
                throwaway_database(kind, work, "breakdown") as url,
                embedded(
                    work, url, latency_ms=latency_ms, report_delay_ms=report_delay_ms
                ) as setup,
            ):
                await enqueue_all(setup.db, prepared_messages(messages))
                await setup.wake()
                await setup.network.wait_for_ledger(messages, timeout=messages * 1.0 + 30)
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)
    starts, ends = timings["send_pdu@start"], timings["send_pdu@end"]
    gaps = [b - a for a, b in zip(ends, starts[1:], strict=False)]
    steps = {name: values for name, values in timings.items() if "@" not in name}
    steps["between AT exchanges"] = gaps
    table = {
        name: {
            "median_ms": round(percentile(v, 0.5) * 1000, 2),
            "p90_ms": round(percentile(v, 0.9) * 1000, 2),
            "count": len(v),
        }
        for name, v in steps.items()
    }
    return {
        "database": kind,
        "latency_ms": latency_ms,
        "report_delay_ms": report_delay_ms,
        "messages": messages,
        "steps": table,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--report-delay-ms", type=float, default=200.0)
    parser.add_argument("--save", action="store_true", help="write bench/results/breakdown_*")
    args = parser.parse_args()
    result = asyncio.run(breakdown(args.db, args.messages, args.latency_ms, args.report_delay_ms))
    for name, row in result["steps"].items():
        say(f"{name:24} median {row['median_ms']:7.2f} ms  p90 {row['p90_ms']:7.2f} ms")
    if args.save:
        write_result(f"breakdown_{args.db}_{args.report_delay_ms:g}ms", result)


if __name__ == "__main__":
    main()
