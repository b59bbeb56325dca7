"""Benchmark 3: queue latency, from a committed enqueue to the PDU reaching the modem.

One message at a time on an idle modem: enqueue (commit), wake the gateway, and take the time
at which the simulated network accepted the part (the ledger's precise ``t``); the next message
is queued only once the previous one is delivered (its status report applied), so the modem is
idle again. Two set-ups: the embedded one (Gateway, in-process bus and SimNetwork in this
process, SQLite) and the daemon process (PostgreSQL) woken through Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.common import Result, say, summary_ms, write_result
from bench.embedded import embedded
from bench.stack import (
    REDIS_URL,
    Waker,
    prepared_messages,
    start_daemon,
    start_simulator,
    throwaway_database,
    wait_modems_online,
    work_directory,
)
from bench.verdict import MIN_RUNS
from gatewayd.bus import Bus, RedisBus, Subscription
from gatewayd.events import (
    EVENTS,
    WAKE,
    Channel,
    LiveEvent,
    MessageStatusChanged,
    WakeUp,
)
from gatewayd.queue import enqueue
from gatewayd.store import Database

P50_TARGET_MS = 20.0
P99_TARGET_MS = 100.0
MODEM_LATENCY_MS = 10.0
REPORT_DELAY_MS = 10.0

NextEntry = Callable[[float], Awaitable[dict[str, Any]]]


async def _wait_status(
    events: Subscription[LiveEvent], message_id: int, status: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        event = await events.get(timeout=left)
        if (
            isinstance(event, MessageStatusChanged)
            and event.id == message_id
            and event.status == status
        ):
            return
        seen.append(event)
    raise TimeoutError(
        f"message {message_id} did not become {status} within {timeout:g} s; saw {seen[-5:]}"
    )


async def _measure(
    db: Database,
    wake: Callable[[], Awaitable[None]],
    next_entry: NextEntry,
    events: Subscription[LiveEvent],
    sends: int,
) -> dict[str, Any]:
    prepared = prepared_messages(sends, start=500_000)
    queue_latency: list[float] = []
    enqueue_time: list[float] = []
    for message in prepared:
        started = time.time()
        async with db.begin() as conn:
            ids, _ = await enqueue(conn, [message], created_by="bench")
        committed = time.time()
        await wake()
        entry = await next_entry(10.0)
        queue_latency.append(float(entry["t"]) - committed)
        enqueue_time.append(committed - started)
        await _wait_status(events, ids[0], "delivered", 10.0)
    return {
        "queue_latency": summary_ms(queue_latency),
        "enqueue_commit": summary_ms(enqueue_time),
        "samples_ms": [round(v * 1000, 3) for v in queue_latency],
    }


async def embedded_latency(sends: int) -> Result:
    with work_directory("latency-embedded") as work:
        async with (
            throwaway_database("sqlite", work, "latency") as url,
            embedded(
                work, url, latency_ms=MODEM_LATENCY_MS, report_delay_ms=REPORT_DELAY_MS
            ) as setup,
        ):
            bus: Bus = setup.bus
            events = bus.subscribe(EVENTS)
            seen = 0

            async def next_entry(timeout: float) -> dict[str, Any]:
                nonlocal seen
                entries = await setup.network.wait_for_ledger(seen + 1, timeout)
                seen += 1
                return entries[seen - 1]

            return await _measure(setup.db, setup.wake, next_entry, events, sends)


class LedgerTail:
    """New lines of a ledger file as they appear (polled every millisecond or two)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    async def next(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.path.exists():
                with self.path.open("rb") as ledger:
                    ledger.seek(self.offset)
                    line = ledger.readline()
                if line.endswith(b"\n"):
                    self.offset += len(line)
                    entry: dict[str, Any] = json.loads(line)
                    return entry
            await asyncio.sleep(0.002)
        raise TimeoutError(f"no new ledger line within {timeout:g} s")


async def _until_subscribed(bus: RedisBus) -> None:
    """Return once Redis delivers to this bus's subscriptions (a ping on a private channel)."""
    ping = Channel("smsgw-bench:ping", WAKE.kinds)
    probe = bus.subscribe(ping)
    for _ in range(100):
        await bus.publish(ping, WakeUp(reason="ping"))
        if await probe.get(timeout=0.1) is not None:
            bus.unsubscribe(probe)
            return
    raise RuntimeError("the Redis subscription never became active")


async def daemon_latency(sends: int) -> Result:
    with work_directory("latency-daemon") as work:
        async with throwaway_database("postgresql", work, "latency") as url:
            simulator = await start_simulator(
                work, 1, latency_ms=MODEM_LATENCY_MS, report_delay_ms=REPORT_DELAY_MS
            )
            try:
                daemon = await start_daemon(work, url, simulator.devices, redis_url=REDIS_URL)
            except BaseException:
                await simulator.proc.stop()
                raise
            db = Database(url)
            waker = Waker(daemon.data_dir, REDIS_URL)
            listener = RedisBus(REDIS_URL)
            try:
                await wait_modems_online(db, daemon.modem_names, timeout=60, proc=daemon.proc)
                events = listener.subscribe(EVENTS)
                await _until_subscribed(listener)
                tail = LedgerTail(simulator.ledger_path)
                return await _measure(db, waker.wake, tail.next, events, sends)
            finally:
                await listener.close()
                await waker.close()
                await db.close()
                await daemon.proc.stop()
                await simulator.proc.stop()


async def bench_latency(quick: bool, repeats: int = MIN_RUNS) -> Result:
    """Both set-ups ``repeats`` times, in turn."""
    sends = 100 if quick else 1000
    runs = []
    for repeat in range(repeats):
        for name, runner, setup in (
            (
                "embedded",
                embedded_latency,
                "Gateway + InProcessBus + SimNetwork in one process, SQLite",
            ),
            (
                "daemon",
                daemon_latency,
                "gatewayd run + gatewayd simulate processes, PostgreSQL, Redis",
            ),
        ):
            say(f"latency: {name}, {sends} sends one at a time, run {repeat + 1}")
            run = {
                "setup": name,
                "description": setup,
                "sends": sends,
                "repeat": repeat,
                **await runner(sends),
            }
            q = run["queue_latency"]
            say(f"  p50 {q['p50_ms']:.3f} ms, p99 {q['p99_ms']:.3f} ms")
            runs.append(run)
    result = {
        "title": "Queue latency: enqueue committed -> PDU at the modem",
        "target": f"median p50 < {P50_TARGET_MS:g} ms, median p99 < {P99_TARGET_MS:g} ms",
        "modem_latency_ms": MODEM_LATENCY_MS,
        "report_delay_ms": REPORT_DELAY_MS,
        "runs": runs,
    }
    write_result("latency", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=MIN_RUNS)
    args = parser.parse_args()
    asyncio.run(bench_latency(args.quick, args.runs))


if __name__ == "__main__":
    main()
