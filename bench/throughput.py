"""Benchmarks 1 and 2: how close the daemon comes to the modems' own limit.

A real ``gatewayd run`` process drives ``gatewayd simulate`` modems whose ``+CMGS`` answer
comes ``latency`` after the PDU, so one modem can take at most 1/latency parts per second.
Messages are queued while the modems idle, then one wake-up starts the run; rates come from
the simulator's ledger (time of each accepted part). The daemon's and simulator's CPU and
memory are read from /proc over the same window.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from bench.common import Result, entry_time, rate_between, say, write_result
from bench.procs import CpuWindow, memory_mb, postgres_backends
from bench.sim_ceiling import ceiling
from bench.stack import (
    REDIS_URL,
    Waker,
    enqueue_all,
    prepared_messages,
    start_daemon,
    start_simulator,
    throwaway_database,
    wait_for_ledger,
    wait_modems_online,
    work_directory,
)
from bench.verdict import MIN_RUNS
from gatewayd.store import Database

PIPELINED = {"prepare_ahead": "always"}
"""The simulated modems deliver reports directly, where the default (``auto``) sends in turn;
benchmarks 1 and 2 measure the send pipeline (``bench/prepare_ahead.py`` compares both)."""
LIMIT_TARGET = 0.98
SCALE_TARGET = 0.95
SCALE_RSS_TARGET_MB = 150.0


def steady_rate(entries: list[dict[str, Any]]) -> tuple[float, float]:
    """(sum of per-modem rates while every modem was busy, length of that window in s)."""
    by_modem: dict[int, list[float]] = defaultdict(list)
    for entry in entries:
        by_modem[int(entry["modem"])].append(entry_time(entry))
    if not by_modem:
        return 0.0, 0.0
    start = max(min(times) for times in by_modem.values())
    end = min(max(times) for times in by_modem.values())
    if end <= start:
        return sum(rate_between(times) for times in by_modem.values()), 0.0
    total = sum(
        rate_between([t for t in times if start <= t <= end]) for times in by_modem.values()
    )
    return total, end - start


async def throughput_run(
    kind: str,
    *,
    modems: int,
    latency_ms: float,
    messages: int,
    tag: str,
    report_delay_ms: float = 200.0,
    keep: bool = False,
    cap_s: float | None = None,
    gateway_options: Mapping[str, str | bool | int | float] | None = None,
) -> Result:
    """One run; the figures as a dict (``ratio`` is the steady rate over the limit). With
    ``cap_s`` the run ends that long after the wake-up even if parts are still queued."""
    limit = modems * 1000.0 / latency_ms
    redis_url = REDIS_URL if kind == "postgresql" else None
    with work_directory(tag, keep) as work:
        async with throwaway_database(kind, work, tag) as url:
            simulator = await start_simulator(
                work, modems, latency_ms=latency_ms, report_delay_ms=report_delay_ms
            )
            try:
                daemon = await start_daemon(
                    work,
                    url,
                    simulator.devices,
                    redis_url=redis_url,
                    gateway_options=gateway_options,
                )
            except BaseException:
                await simulator.proc.stop()
                raise
            db = Database(url)
            waker = Waker(daemon.data_dir, redis_url)
            try:
                await wait_modems_online(db, daemon.modem_names, timeout=60, proc=daemon.proc)
                prepared = prepared_messages(messages)
                enqueued_at = time.time()
                await enqueue_all(db, prepared)
                queued_in = time.time() - enqueued_at
                database = url.rsplit("/", 1)[1]
                window = CpuWindow(
                    {
                        "gatewayd": lambda: [daemon.proc.pid],
                        "simulator": lambda: [simulator.proc.pid],
                        "postgresql": lambda: (
                            postgres_backends(database) if kind == "postgresql" else []
                        ),
                    }
                )
                window.start()
                woken_at = time.time()
                await waker.wake()
                expected = messages / limit
                entries = await wait_for_ledger(
                    simulator,
                    messages,
                    timeout=cap_s or expected * 3 + 30,
                    watch=[daemon.proc, simulator.proc],
                )
                cpu = window.stop()
                rss_mb, peak_rss_mb = memory_mb(daemon.proc.pid)
                sim_rss_mb, _ = memory_mb(simulator.proc.pid)
            finally:
                await waker.close()
                await db.close()
                await daemon.proc.stop()
                await simulator.proc.stop()
    times = sorted(entry_time(e) for e in entries)
    steady, steady_window = steady_rate(entries)
    overall = len(times) / (times[-1] - woken_at) if times else 0.0
    return {
        "database": kind,
        "modems": modems,
        "latency_ms": latency_ms,
        "messages": messages,
        "parts_accepted": len(entries),
        "cap_s": cap_s,
        "limit_sms_per_s": limit,
        "rate_sms_per_s": steady,
        "ratio": steady / limit,
        "steady_window_s": round(steady_window, 2),
        "first_to_last_s": round(times[-1] - times[0], 3) if times else None,
        "wake_to_first_part_ms": round((times[0] - woken_at) * 1000, 1) if times else None,
        "wake_to_last_ratio": round(overall / limit, 4),
        "enqueue_s": round(queued_in, 3),
        "gatewayd_cpu_ms_per_part": round(
            cpu["gatewayd_cpu_percent"] * 10 * cpu["window_s"] / max(len(entries), 1), 2
        ),
        "gatewayd_rss_mb": round(rss_mb, 1),
        "gatewayd_peak_rss_mb": peak_rss_mb,
        "simulator_rss_mb": round(sim_rss_mb, 1),
        **cpu,
    }


async def bench_limit(quick: bool, repeats: int = MIN_RUNS) -> Result:
    """Benchmark 1: one modem at 50 ms and 1 s latency, SQLite and PostgreSQL; every set-up
    ``repeats`` times (the set-ups taken in turn, so a slow spell of the machine is shared)."""
    plan = [(50.0, 100 if quick else 500), (1000.0, 20 if quick else 60)]
    ceilings: dict[float, list[Result]] = defaultdict(list)
    runs = []
    for repeat in range(repeats):
        for latency, _ in plan:
            parts = 100 if latency < 500 else 20
            say(f"limit: the simulator's own ceiling at {latency:g} ms ({parts} parts)")
            found = await ceiling(latency, parts)
            ceilings[latency].append(found)
            say(f"  ratio {found['ratio']:.4f}")
        for kind in ("sqlite", "postgresql"):
            for latency, count in plan:
                say(f"limit: {kind}, 1 modem, {latency:g} ms, {count} messages, run {repeat + 1}")
                run = await throughput_run(
                    kind,
                    modems=1,
                    latency_ms=latency,
                    messages=count,
                    tag=f"limit{int(latency)}{kind[:2]}",
                    gateway_options=PIPELINED,
                )
                run["repeat"] = repeat
                run["simulator_ceiling"] = ceilings[latency][-1]["ratio"]
                run["share_of_ceiling"] = run["ratio"] / ceilings[latency][-1]["ratio"]
                say(
                    f"  ratio {run['ratio']:.4f} ({run['rate_sms_per_s']:.3f} SMS/s of "
                    f"{run['limit_sms_per_s']:g}); {run['share_of_ceiling']:.4f} of the "
                    "simulator's own ceiling"
                )
                runs.append(run)
    result = {
        "title": "Against the limit: one modem",
        "target": f"median ratio >= {LIMIT_TARGET}",
        "note": "1 s latency uses fewer messages (60; 500 would take 500 s). The simulator's "
        "ceiling is what a client doing nothing but AT+CMGS back to back with blocking "
        "reads reaches on the same simulated modem (bench/sim_ceiling.py), measured before "
        'each round of runs. The daemon runs with prepare_ahead = "always" (the next part '
        "prepared while one is on the wire); see bench/results/prepare_ahead.json for the "
        "same runs in turn.",
        "ceilings": [c for found in ceilings.values() for c in found],
        "runs": runs,
    }
    write_result("limit", result)
    return result


async def bench_scale(quick: bool, repeats: int = MIN_RUNS) -> Result:
    """Benchmark 2: 8, 32 and 64 modems at 200 ms on PostgreSQL (SQLite for 64 too), every
    set-up ``repeats`` times, the set-ups taken in turn."""
    seconds = 10 if quick else 30
    plan = [("postgresql", 8), ("postgresql", 32), ("postgresql", 64), ("sqlite", 64)]
    runs = []
    for repeat in range(repeats):
        for kind, modems in plan:
            count = int(modems * 5 * seconds)
            say(f"scale: {kind}, {modems} modems at 200 ms, {count} messages, run {repeat + 1}")
            run = await throughput_run(
                kind,
                modems=modems,
                latency_ms=200.0,
                messages=count,
                tag=f"scale{modems}{kind[:2]}",
                cap_s=seconds * 2 + 30,
                gateway_options=PIPELINED,
            )
            run["repeat"] = repeat
            say(
                f"  ratio {run['ratio']:.4f}, gatewayd CPU {run['gatewayd_cpu_percent']} %, "
                f"RSS {run['gatewayd_peak_rss_mb']:.1f} MB, simulator CPU "
                f"{run['simulator_cpu_percent']} %"
            )
            runs.append(run)
    result = {
        "title": "Scale: many modems at 200 ms",
        "target": f"median ratio >= {SCALE_TARGET} at 64 modems, median peak RSS < "
        f"{SCALE_RSS_TARGET_MB:g} MB",
        "note": f"Each run queues {seconds} s of work at the limit and is cut {seconds * 2 + 30} s "
        "after the wake-up; the ratio is taken while every modem was busy. The daemon runs "
        'with prepare_ahead = "always".',
        "runs": runs,
    }
    write_result("scale", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=["limit", "scale"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help="runs of every set-up")
    args = parser.parse_args()
    runner = bench_limit if args.which == "limit" else bench_scale
    asyncio.run(runner(args.quick, args.runs))


if __name__ == "__main__":
    main()
