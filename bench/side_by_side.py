"""Benchmark 6: gammu-smsd, smstools (smsd) and Kannel beside gatewayd, one simulated modem
answering ``+CMGS`` after 50 ms, the same 200 messages (each asking for a status report).

Each peer runs with the configuration in ``bench/peers/`` against a fresh ``gatewayd simulate``
and gets the 200 messages its usual way (``gammu-smsd-inject``, a spool file each, Kannel's
``sendsms``). The peers are slow (Kannel about 0.4 SMS/s would need 450 s), so each run is cut
at a time cap and its rate computed from the ledger between its first and last accepted part.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import string
import time
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.common import BENCH_DIR, Result, rate_between, say, write_result
from bench.procs import Proc, run_to_end
from bench.stack import Simulator, recipient, start_simulator, times_of, work_directory
from bench.throughput import throughput_run
from bench.verdict import MIN_RUNS

LATENCY_MS = 50.0
REPORT_DELAY_MS = 200.0
PEER_CONFIGS = BENCH_DIR / "peers"
Ready = Callable[[], Awaitable[bool]]


def render(template: str, destination: Path, **values: object) -> Path:
    text = string.Template((PEER_CONFIGS / template).read_text(encoding="utf-8"))
    destination.write_text(text.substitute({k: str(v) for k, v in values.items()}), "utf-8")
    return destination


def _log_says(path: Path, words: str) -> Ready:
    def says() -> bool:
        return path.exists() and words in path.read_text(encoding="utf-8", errors="replace")

    async def ready() -> bool:
        return await asyncio.to_thread(says)

    return ready


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Peer:
    name = ""
    programs: tuple[str, ...] = ()

    def __init__(self, work: Path, simulator: Simulator) -> None:
        self.work = work
        self.device = simulator.devices[0]
        self.procs: list[Proc] = []

    async def start(self) -> Ready:
        raise NotImplementedError

    async def queue(self, index: int, text: str) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        for proc in reversed(self.procs):
            await proc.stop()


class GammuSmsd(Peer):
    name = "gammu-smsd"
    programs = ("gammu-smsd", "gammu-smsd-inject")

    async def start(self) -> Ready:
        spool = self.work / "spool"
        for folder in ("inbox", "outbox", "sent", "error"):
            (spool / folder).mkdir(parents=True, exist_ok=True)
        self.config = render(
            "gammu-smsdrc",
            self.work / "gammu-smsdrc",
            device=self.device,
            phone_id="modem0",
            spool_dir=spool,
            log_file=self.work / "smsd.log",
            gammu_log_file=self.work / "gammu.log",
            delivery_report="log",
            comm_timeout=1,
            receive_frequency=15,
            debug_level=1,
        )
        argv = ["gammu-smsd", "-c", str(self.config), "-p", str(self.work / "gammu-smsd.pid")]
        proc = Proc("gammu-smsd", argv, self.work / "logs")
        await proc.start()
        self.procs.append(proc)
        return _log_says(self.work / "smsd.log", "Starting phone communication")

    async def queue(self, index: int, text: str) -> None:
        await run_to_end(
            [
                "gammu-smsd-inject",
                "-c",
                str(self.config),
                "TEXT",
                recipient(index),
                "-text",
                text,
                "-report",
            ],
            timeout=60,
        )


class SmsTools(Peer):
    name = "smstools"
    programs = ("smsd",)

    async def start(self) -> Ready:
        self.spool = self.work / "spool"
        for folder in ("outgoing", "checked", "incoming", "failed", "sent", "report"):
            (self.spool / folder).mkdir(parents=True, exist_ok=True)
        config = render(
            "smsd.conf",
            self.work / "smsd.conf",
            device=self.device,
            spool_dir=self.spool,
            delay_time=10,
            log_level=7,
        )
        proc = Proc("smsd", ["smsd", f"-c{config}", "-t"], self.work / "logs")
        await proc.start()
        self.procs.append(proc)
        return _log_says(self.spool / "smsd.log", "Modem is registered")

    async def queue(self, index: int, text: str) -> None:
        staging = self.spool / f".bench{index}.tmp"
        number = recipient(index).lstrip("+")
        staging.write_text(f"To: {number}\nReport: yes\n\n{text}\n", encoding="utf-8")
        staging.rename(self.spool / "outgoing" / f"bench{index}")


class Kannel(Peer):
    name = "Kannel"
    programs = ("bearerbox", "smsbox")

    async def start(self) -> Ready:
        logs = self.work / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.admin, smsbox, self.sendsms = _free_port(), _free_port(), _free_port()
        config = render(
            "kannel.conf",
            self.work / "kannel.conf",
            admin_port=self.admin,
            admin_password="bench-admin",
            smsbox_port=smsbox,
            sendsms_port=self.sendsms,
            log_dir=logs,
            smsc_id="modem0",
            device=self.device,
            my_number="+5511990000001",
            sendsms_user="bench",
            sendsms_password="bench-secret",
            mo_url=f"http://127.0.0.1:{_free_port()}/mo",
            log_level=1,
        )
        bearerbox = Proc("bearerbox", ["bearerbox", "-v", "1", str(config)], logs)
        await bearerbox.start()
        self.procs.append(bearerbox)
        await _until(_port_open(smsbox), 20, "bearerbox's smsbox port")
        box = Proc("smsbox", ["smsbox", "-v", "1", str(config)], logs)
        await box.start()
        self.procs.append(box)

        async def ready() -> bool:
            status = await asyncio.to_thread(
                self._get, f"http://127.0.0.1:{self.admin}/status.txt?password=bench-admin"
            )
            online = any("modem0" in line and "online" in line for line in status.splitlines())
            return online and await _port_open(self.sendsms)()

        return ready

    @staticmethod
    def _get(url: str) -> str:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return str(answer.read().decode(errors="replace"))
        except OSError:
            return ""

    async def queue(self, index: int, text: str) -> None:
        query = urllib.parse.urlencode(
            {
                "username": "bench",
                "password": "bench-secret",
                "to": recipient(index),
                "text": text,
                "smsc": "modem0",
                "dlr-mask": "3",
                "dlr-url": f"http://127.0.0.1:{_free_port()}/dlr",
            }
        )
        body = await asyncio.to_thread(
            self._get, f"http://127.0.0.1:{self.sendsms}/cgi-bin/sendsms?{query}"
        )
        if "Accepted" not in body:
            raise RuntimeError(f"Kannel refused message {index}: {body!r}")


def _port_open(port: int) -> Ready:
    async def ready() -> bool:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return True
        return False

    return ready


async def _until(ready: Ready, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def _until_ledger_has(simulator: Simulator, count: int, deadline: float) -> None:
    while True:
        if len(simulator.ledger()) >= count or time.time() >= deadline:
            return
        await asyncio.sleep(0.2)


class PeerMissing(RuntimeError):
    """A peer's programs are not installed: the comparison fails rather than leaving a gap."""


async def peer_run(kind: type[Peer], messages: int, cap_s: float) -> dict[str, Any]:
    missing = [p for p in kind.programs if shutil.which(p) is None]
    if missing:
        raise PeerMissing(
            f"{kind.name}: {', '.join(missing)} not installed (scripts/system-deps.sh installs "
            "them; make bench runs it)"
        )
    with work_directory(f"peer-{kind.name}") as work:
        simulator = await start_simulator(
            work, 1, latency_ms=LATENCY_MS, report_delay_ms=REPORT_DELAY_MS
        )
        peer = kind(work, simulator)
        try:
            await _until(await peer.start(), 60, f"{kind.name} to be ready")
            queued_at = time.time()
            for index in range(messages):
                await peer.queue(index, f"Benchmark message {index}")
            queueing_s = time.time() - queued_at
            deadline = queued_at + cap_s
            await _until_ledger_has(simulator, messages, deadline)
            elapsed = time.time() - queued_at
        finally:
            await peer.stop()
            await simulator.proc.stop()
        times = times_of(simulator.ledger())
    rate = rate_between(times)
    return {
        "peer": kind.name,
        "parts_accepted": len(times),
        "capped": len(times) < messages,
        "run_s": round(elapsed, 1),
        "queueing_s": round(queueing_s, 1),
        "rate_sms_per_s": rate,
        "ratio_to_limit": rate * LATENCY_MS / 1000,
        "first_part_after_queueing_s": round(times[0] - queued_at, 2) if times else None,
    }


async def ours_run(messages: int) -> dict[str, Any]:
    say(f"side by side: gatewayd, {messages} messages at {LATENCY_MS:g} ms")
    run = await throughput_run(
        "sqlite",
        modems=1,
        latency_ms=LATENCY_MS,
        messages=messages,
        tag="sidebyside",
        report_delay_ms=REPORT_DELAY_MS,
    )
    say(f"  gatewayd {run['rate_sms_per_s']} SMS/s")
    return {
        "peer": "gatewayd",
        "parts_accepted": run["parts_accepted"],
        "capped": False,
        "rate_sms_per_s": run["rate_sms_per_s"],
        "ratio_to_limit": run["ratio"],
        "first_part_after_queueing_s": round(run["wake_to_first_part_ms"] / 1000, 3),
    }


async def bench_side_by_side(quick: bool, repeats: int = MIN_RUNS) -> Result:
    """Every round runs gatewayd, then each peer, on a fresh simulated modem; ``repeats``
    rounds. Each peer row carries ``ours_over_peer``: our rate in that round over the peer's."""
    messages = 200
    cap_s = 30.0 if quick else 90.0
    runs: list[dict[str, Any]] = []
    for repeat in range(repeats):
        ours = await ours_run(messages)
        ours["repeat"] = repeat
        runs.append(ours)
        for kind in (GammuSmsd, SmsTools, Kannel):
            say(f"side by side: {kind.name} (cut at {cap_s:g} s), run {repeat + 1}")
            row = await peer_run(kind, messages, cap_s)
            row["repeat"] = repeat
            row["ours_over_peer"] = (
                ours["rate_sms_per_s"] / row["rate_sms_per_s"] if row["rate_sms_per_s"] else None
            )
            say(
                f"  {kind.name} {row['rate_sms_per_s']:.3f} SMS/s ({row['parts_accepted']} "
                f"parts in {row['run_s']} s)"
            )
            runs.append(row)
    result = {
        "title": f"Side by side: one modem at {LATENCY_MS:g} ms, {messages} messages",
        "latency_ms": LATENCY_MS,
        "messages": messages,
        "cap_s": cap_s,
        "target": "gatewayd faster than each peer: median of ours_over_peer > 1",
        "note": f"Peers are cut at {cap_s:g} s after queueing; their rate is taken from the "
        "ledger between their first and last accepted part. Each round runs gatewayd and then "
        "every peer on a fresh simulated modem.",
        "runs": runs,
    }
    write_result("side_by_side", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help="rounds of every peer")
    args = parser.parse_args()
    asyncio.run(bench_side_by_side(args.quick, args.runs))


if __name__ == "__main__":
    main()
