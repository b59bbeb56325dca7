"""Processes under measurement: start in their own session with output to files, stop with
SIGTERM then SIGKILL, and read their CPU time and memory from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of ``pid`` in MiB; zeros when it is gone."""
    found = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in found:
                    found[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return found["VmRSS"], found["VmHWM"]


def pids_named(name: str) -> list[int]:
    """Processes whose command name is ``name`` (e.g. every ``postgres`` backend)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/comm", encoding="ascii") as f:
                if f.read().strip() == name:
                    found.append(int(entry))
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (a server's worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat", encoding="ascii") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (from /proc/stat)."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLOCK_TICKS


def postgres_backends(database: str) -> list[int]:
    """PostgreSQL backend processes serving ``database`` (named in their command line)."""
    found = []
    for pid in pids_named("postgres"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            words = cmdline.read().replace(b"\0", b" ").split()
            if database.encode() in words:
                found.append(pid)
    return found


PidSource = Callable[[], list[int]]


@dataclass
class CpuWindow:
    """CPU used by some processes (and the whole machine) between :meth:`start` and :meth:`stop`,
    as a share of one core (100 % = one core busy all the time). Each source is asked for its
    processes at both ends; one that appeared meanwhile counts with all its CPU time. What the
    machine used beyond the sources is ``other_cpu_percent``: load this run did not make."""

    sources: dict[str, PidSource]
    started_at: float = 0.0
    _before: dict[int, float] = field(default_factory=dict)
    _machine_before: float = 0.0

    def start(self) -> None:
        self.started_at = time.monotonic()
        self._before = {p: cpu_seconds(p) for source in self.sources.values() for p in source()}
        self._machine_before = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        wall = max(time.monotonic() - self.started_at, 1e-9)
        used: dict[str, float] = {}
        ours = 0.0
        for name, source in self.sources.items():
            seconds = sum(cpu_seconds(p) - self._before.get(p, 0.0) for p in set(source()))
            ours += seconds
            used[f"{name}_cpu_percent"] = round(100 * seconds / wall, 1)
        machine = machine_busy_seconds() - self._machine_before
        used["machine_cpu_percent"] = round(100 * machine / wall, 1)
        used["other_cpu_percent"] = round(max(0.0, 100 * (machine - ours) / wall), 1)
        used["window_s"] = round(wall, 2)
        return used


@dataclass
class Proc:
    """One program started in its own process group, output captured to files."""

    name: str
    argv: Sequence[str]
    log_dir: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    process: asyncio.subprocess.Process | None = None

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"{self.name}.stdout"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"{self.name}.stderr"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env={**os.environ, **(self.env or {})},
                cwd=self.cwd,
                start_new_session=True,
            )

    async def stop(self, grace: float = 15.0) -> int | None:
        if self.process is None:
            return None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                await self.process.wait()
        return self.process.returncode

    def output(self, lines: int = 30) -> str:
        parts = []
        for path in (self.stdout_path, self.stderr_path):
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()
                parts.append(f"--- {path}\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)


async def run_to_end(
    argv: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 120.0
) -> str:
    """Run a short command; return its stdout; raise RuntimeError with its output on failure."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"{' '.join(argv)} timed out after {timeout:g} s") from None
    if process.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {process.returncode}: {err.decode(errors='replace')}"
        )
    return out.decode(errors="replace")
