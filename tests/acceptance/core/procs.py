"""The real commands as processes: ``gatewayd simulate`` with a ledger file, ``gatewayd run``
on a written config, and the queue and ledger read back for the acceptance checks."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gatewayd.bus import RedisBus
from gatewayd.events import WAKE, WakeUp
from gatewayd.queue import NewMessage, enqueue, prepare
from gatewayd.store import Database, message_parts, messages

GATEWAYD = str(Path(sys.executable).with_name("gatewayd"))


def numbered(i: int) -> str:
    return f"+5511987{60000 + i:06d}"[:14]


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGW_")}
    env.update(extra)
    env["SMSGW_LOG_LEVEL"] = env.get("SMSGW_LOG_LEVEL", "INFO")
    return env


async def run_command(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 30
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        GATEWAYD,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@dataclass
class Simulator:
    process: asyncio.subprocess.Process
    modems: list[dict[str, str]]
    ledger_path: Path

    def ledger(self) -> list[dict[str, Any]]:
        if not self.ledger_path.exists():
            return []
        lines = self.ledger_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


@asynccontextmanager
async def simulator(
    directory: Path, *, modems: int, latency_ms: int = 20, report_delay_ms: int = 100
) -> AsyncIterator[Simulator]:
    ledger = directory / "ledger.jsonl"
    process = await asyncio.create_subprocess_exec(
        GATEWAYD,
        "simulate",
        "--modems",
        str(modems),
        "--dir",
        str(directory / "dev"),
        "--latency-ms",
        str(latency_ms),
        "--report-delay-ms",
        str(report_delay_ms),
        "--ledger",
        str(ledger),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=environment(),
    )
    assert process.stdout is not None
    try:
        lines = [await asyncio.wait_for(process.stdout.readline(), 20) for _ in range(modems)]
        yield Simulator(process, [json.loads(line) for line in lines], ledger)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


def write_config(
    path: Path, *, host: str, devices: Sequence[str], data_dir: Path, poll_interval: float = 0.5
) -> Path:
    lines = [
        "[gateway]",
        f'host = "{host}"',
        f"poll_interval = {poll_interval}",
        f'data_dir = "{data_dir}"',
        "",
    ]
    for i, device in enumerate(devices):
        lines += ["[[modem]]", f'name = "{host}-m{i}"', f'device = "{device}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class Daemon:
    """One ``gatewayd run`` process; its stderr (JSON logs) goes to ``log_path``."""

    args: tuple[str, ...]
    env: dict[str, str]
    log_path: Path
    cwd: Path | None = None
    process: asyncio.subprocess.Process | None = None
    output: list[str] = field(default_factory=list)

    async def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            GATEWAYD,
            "run",
            *self.args,
            env=self.env,
            cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
        log.close()
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            line = await asyncio.wait_for(self.process.stdout.readline(), max(left, 0.01))
            if not line:
                raise AssertionError(f"gatewayd run exited: {self.log_tail()}")
            self.output.append(line.decode())
            if line.startswith(b"gatewayd running"):
                return

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def terminate(self, timeout: float = 15) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds it took)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout)
        return code, time.monotonic() - started

    async def ensure_stopped(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def queue_messages(db: Database, texts: Sequence[str], redis_url: str | None) -> list[int]:
    """Queue one message per text (recipient from its index) and wake gatewayd via Redis."""
    prepared = [prepare(NewMessage(numbered(i), text)) for i, text in enumerate(texts)]
    ids: list[int] = []
    for start in range(0, len(prepared), 200):
        async with db.begin() as conn:
            chunk, _ = await enqueue(conn, prepared[start : start + 200], created_by="test")
        ids += chunk
    if redis_url:
        bus = RedisBus(redis_url)
        try:
            await bus.publish(WAKE, WakeUp(reason="queued"))
        finally:
            await bus.close()
    return ids


async def statuses(db: Database) -> dict[int, str]:
    async with db.read() as conn:
        rows = await conn.execute(select(messages.c.id, messages.c.status))
        return {row.id: row.status for row in rows}


async def parts_by_status(db: Database) -> Counter[str]:
    async with db.read() as conn:
        rows = await conn.execute(select(message_parts.c.status))
        return Counter(row.status for row in rows)


async def wait_for(check: Any, *, timeout: float, what: str) -> Any:
    """Poll ``check`` (plain or async) until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.1)


ONCE = frozenset({"sent", "delivered", "expired"})
UNSETTLED = frozenset({"queued", "sending"})
VERDICT = ("lost", "dup", "phantom", "unsettled", "missing", "sent_while_failed")
"""The outcome counts that must all be 0 (see :func:`problems`)."""


def audit(
    texts: dict[int, str], found: dict[int, str], ledger: list[dict[str, Any]]
) -> Counter[str]:
    """Check exactly-once against the ledger: count each message by status, and the outcomes
    named in :data:`VERDICT` (all present, 0 when clean; :func:`problems` names those that
    are not). Messages are matched to ledger lines by text, so every text must be unique.

    A message shown sent, delivered or expired is on the ledger exactly once; one shown
    unknown at most once (``unknown_but_sent`` counts those that went). Any other message
    must also have been sent: one still queued or sending is ``unsettled``, one without a
    row ``missing``, and a failed or cancelled one ``lost`` when it is not on the ledger,
    ``sent_while_failed`` when it is. Any message on it more than once is ``dup``; a ledger
    line matching no message is ``phantom``."""
    on_ledger = Counter(e.get("text") for e in ledger)
    outcome: Counter[str] = Counter({name: 0 for name in VERDICT})
    for message_id, text in texts.items():
        status, seen = found.get(message_id), on_ledger[text]
        outcome[status or "missing"] += 1
        if seen > 1:
            outcome["dup"] += 1
        if status is None:
            continue  # counted as "missing" just above
        if status in UNSETTLED:
            outcome["unsettled"] += 1
        elif status == "unknown":
            outcome["unknown_but_sent"] += seen == 1
        elif status in ONCE:
            outcome["lost"] += seen == 0
        else:
            outcome["lost" if seen == 0 else "sent_while_failed"] += 1
    wanted = set(texts.values())
    outcome["phantom"] += sum(n for text, n in on_ledger.items() if text not in wanted)
    return outcome


def problems(outcome: Counter[str]) -> list[str]:
    """The non-zero verdict counts of an :func:`audit` outcome, e.g. ``["lost 2"]``."""
    return [f"{name} {outcome[name]}" for name in VERDICT if outcome[name]]
