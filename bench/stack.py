"""The system under measurement, put together from its real parts: a throwaway database
(PostgreSQL or SQLite), ``gatewayd simulate`` (through ``simulate_precise``), the
``gatewayd run`` daemon with its settings file, and the enqueue / wake-up / ledger plumbing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select

from bench.common import REPO_ROOT, entry_time, gatewayd_argv
from bench.procs import Proc, run_to_end
from gatewayd.bus import RedisBus
from gatewayd.events import WAKE, WakeUp
from gatewayd.queue import NewMessage, PreparedMessage, enqueue, prepare
from gatewayd.service.wakeup import send_local_wakeup
from gatewayd.store import Database, migrate
from gatewayd.store.schema import modems as modems_table

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
FIRST_RECIPIENT = 5511987600000
"""Recipients are valid Brazilian mobile numbers outside the simulated modems' range."""


def recipient(index: int) -> str:
    return f"+{FIRST_RECIPIENT + index % 100_000}"


@contextlib.asynccontextmanager
async def throwaway_database(kind: str, work_dir: Path, tag: str) -> AsyncIterator[str]:
    """A new empty database for one run, dropped afterwards; yields its user-style URL."""
    if kind == "sqlite":
        yield f"sqlite:///{work_dir / f'{tag}.db'}"
        return
    name = f"bench_{tag}_{os.getpid()}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def migrated(url: str) -> Database:
    """The database opened, with the schema created."""
    db = Database(url)
    await migrate.upgrade(db)
    return db


def write_settings(
    path: Path,
    modems: Sequence[tuple[str, str]],
    *,
    data_dir: Path,
    poll_interval: float = 2.0,
    log_level: str = "INFO",
    host: str = "bench",
    gateway_options: Mapping[str, str | bool | int | float] | None = None,
) -> Path:
    lines = [
        "[gateway]",
        f'host = "{host}"',
        f"poll_interval = {poll_interval}",
        f'data_dir = "{data_dir}"',
        *(f"{key} = {toml_value(value)}" for key, value in (gateway_options or {}).items()),
        "",
        "[log]",
        f'level = "{log_level}"',
        f'file = "{data_dir / "gatewayd.log"}"',
        "",
    ]
    for name, device in modems:
        lines += ["[[modem]]", f'name = "{name}"', f'device = "{device}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def toml_value(value: str | bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # a JSON string or number is a TOML one too


@dataclass
class Simulator:
    proc: Proc
    devices: list[str]
    ledger_path: Path
    _entries: list[dict[str, Any]] = field(default_factory=list)
    _offset: int = 0

    def ledger(self) -> list[dict[str, Any]]:
        """Every entry so far; only lines added since the last call are read and parsed."""
        if self.ledger_path.exists():
            with self.ledger_path.open("rb") as ledger:
                ledger.seek(self._offset)
                for line in ledger:
                    if not line.endswith(b"\n"):
                        break
                    self._offset += len(line)
                    if line.strip():
                        self._entries.append(json.loads(line))
        return self._entries


async def start_simulator(
    work_dir: Path, modems: int, *, latency_ms: float, report_delay_ms: float = 200.0
) -> Simulator:
    ledger_path = work_dir / "ledger.jsonl"
    argv = [
        str(Path(gatewayd_argv()[0]).parent / "python"),
        "-m",
        "bench.simulate_precise",
        "--modems",
        str(modems),
        "--dir",
        str(work_dir / "dev"),
        "--latency-ms",
        str(latency_ms),
        "--report-delay-ms",
        str(report_delay_ms),
        "--ledger",
        str(ledger_path),
    ]
    proc = Proc("simulator", argv, work_dir / "logs", cwd=REPO_ROOT)
    await proc.start()
    deadline = time.monotonic() + 30
    while True:
        text = proc.stdout_path.read_text(encoding="utf-8") if proc.stdout_path.exists() else ""
        devices = [json.loads(line)["device"] for line in text.splitlines() if line.startswith("{")]
        if len(devices) >= modems:
            return Simulator(proc, devices[:modems], ledger_path)
        if not proc.running or time.monotonic() > deadline:
            await proc.stop()
            raise RuntimeError(f"gatewayd simulate did not start:\n{proc.output()}")
        await asyncio.sleep(0.05)


@dataclass
class Daemon:
    proc: Proc
    url: str
    redis_url: str | None
    data_dir: Path
    modem_names: list[str]


async def start_daemon(
    work_dir: Path,
    url: str,
    devices: Sequence[str],
    *,
    redis_url: str | None = None,
    poll_interval: float = 2.0,
    log_level: str = "INFO",
    gateway_options: Mapping[str, str | bool | int | float] | None = None,
) -> Daemon:
    """``gatewayd migrate`` (PostgreSQL) then ``gatewayd run`` with one modem per device;
    ``gateway_options`` are more ``[gateway]`` settings."""
    data_dir = work_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    names = [f"m{i}" for i in range(len(devices))]
    config = write_settings(
        work_dir / "gatewayd.toml",
        list(zip(names, devices, strict=True)),
        data_dir=data_dir,
        poll_interval=poll_interval,
        log_level=log_level,
        gateway_options=gateway_options,
    )
    env = {"SMSGW_DATABASE_URL": url}
    if redis_url:
        env["SMSGW_REDIS_URL"] = redis_url
    else:
        os.environ.pop("SMSGW_REDIS_URL", None)
    await run_to_end([*gatewayd_argv(), "migrate", "--config", str(config)], env=env)
    proc = Proc(
        "gatewayd", [*gatewayd_argv(), "run", "--config", str(config)], work_dir / "logs", env=env
    )
    await proc.start()
    return Daemon(proc, url, redis_url, data_dir, names)


async def wait_modems_online(
    db: Database, names: Sequence[str], *, timeout: float, proc: Proc | None = None
) -> None:
    deadline = time.monotonic() + timeout
    wanted = set(names)
    while True:
        with contextlib.suppress(Exception):
            async with db.read() as conn:
                rows = await conn.execute(select(modems_table.c.name, modems_table.c.state))
                online = {row.name for row in rows if row.state == "online"}
            if wanted <= online:
                return
        if proc is not None and not proc.running:
            raise RuntimeError(f"gatewayd exited:\n{proc.output()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"modems not online after {timeout:g} s")
        await asyncio.sleep(0.1)


def prepared_messages(count: int, *, start: int = 0, text: str = "") -> list[PreparedMessage]:
    return [
        prepare(NewMessage(to=recipient(start + i), text=text or f"Benchmark message {start + i}"))
        for i in range(count)
    ]


async def enqueue_all(
    db: Database, prepared: Sequence[PreparedMessage], *, chunk: int = 2000
) -> list[int]:
    ids: list[int] = []
    for first in range(0, len(prepared), chunk):
        async with db.begin() as conn:
            new_ids, _ = await enqueue(conn, prepared[first : first + chunk], created_by="bench")
        ids += new_ids
    return ids


class Waker:
    """Tells the daemon new work is queued: Redis when it has it, else its local socket."""

    def __init__(self, data_dir: Path, redis_url: str | None) -> None:
        self.data_dir = data_dir
        self.bus = RedisBus(redis_url) if redis_url else None

    async def wake(self) -> None:
        if self.bus is not None:
            await self.bus.publish(WAKE, WakeUp(reason="queued"))
        else:
            send_local_wakeup(self.data_dir)

    async def close(self) -> None:
        if self.bus is not None:
            await self.bus.close()


async def wait_for_ledger(
    simulator: Simulator,
    count: int,
    *,
    timeout: float,
    watch: Sequence[Proc] = (),
    poll: float = 0.1,
) -> list[dict[str, Any]]:
    """The ledger once it has ``count`` entries; the entries so far when ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        entries = simulator.ledger()
        if len(entries) >= count or time.monotonic() > deadline:
            return list(entries)
        for proc in watch:
            if not proc.running:
                raise RuntimeError(f"{proc.name} exited:\n{proc.output()}")
        await asyncio.sleep(poll)


def times_of(entries: Sequence[dict[str, Any]]) -> list[float]:
    return sorted(entry_time(e) for e in entries)


@contextlib.contextmanager
def work_directory(tag: str, keep: bool = False) -> Any:
    path = Path(tempfile.mkdtemp(prefix=f"smsgw-bench-{tag}-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)
