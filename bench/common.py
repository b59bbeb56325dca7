"""What every benchmark shares: result files, percentiles, the machine's description and the
simulator's ledger (with its precise arrival times)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
QUICK_RESULTS_DIR = RESULTS_DIR / "quick"
"""Where ``--quick`` runs write, so they never replace the figures of a full run."""
VENV_BIN = Path(sys.executable).parent

Result = dict[str, Any]


class PartFailed(Exception):
    """A part of a benchmark failed after the benchmark wrote its results file with the other
    parts' figures and the failure in it: the run counts the benchmark failed, and keeps the
    file."""


def gatewayd_argv() -> list[str]:
    """The ``gatewayd`` console script beside this interpreter (the project's virtualenv)."""
    script = VENV_BIN / "gatewayd"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gatewayd.cli"]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` (0..1) percentile by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of durations given in seconds, in milliseconds (unrounded: verdicts
    are taken on them)."""
    if not seconds:
        return {}
    return {
        "count": len(seconds),
        "p50_ms": percentile(seconds, 0.50) * 1000,
        "p95_ms": percentile(seconds, 0.95) * 1000,
        "p99_ms": percentile(seconds, 0.99) * 1000,
        "max_ms": max(seconds) * 1000,
        "mean_ms": statistics.fmean(seconds) * 1000,
    }


def machine() -> dict[str, Any]:
    """Where the figures were taken: cores, CPU model, memory, kernel, Python, PostgreSQL."""
    cpu_model = ""
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
        for line in info:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model,
        "memory_gib": round(total_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": _command_version(["psql", "--version"]),
        "redis": _command_version(["redis-server", "--version"]),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def _command_version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "not installed"
    return done.stdout.strip()


def results_dir() -> Path:
    """``$BENCH_RESULTS_DIR`` when set (``run_all.py --quick`` sets it), else bench/results."""
    chosen = os.environ.get("BENCH_RESULTS_DIR")
    return Path(chosen) if chosen else RESULTS_DIR


def write_result(name: str, result: Result, *, directory: Path | None = None) -> Path:
    """Write ``bench/results/<name>.json`` with the time and machine added; return its path."""
    directory = directory or results_dir()
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **result,
    }
    path = directory / f"{name}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_results(directory: Path | None = None) -> dict[str, Result]:
    directory = directory or results_dir()
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    }


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# ---- the simulator's ledger ----------------------------------------------------------------


def entry_time(entry: dict[str, Any]) -> float:
    """When the network took the part, as a Unix time: the precise ``t`` that
    ``bench/simulate_precise.py`` adds, else the ledger's own ``at``."""
    precise = entry.get("t")
    if isinstance(precise, int | float):
        return float(precise)
    return datetime.fromisoformat(str(entry["at"])).timestamp()


def rate_between(times: Iterable[float]) -> float:
    """Parts per second from the first to the last time: (n - 1) intervals over the span."""
    ordered = sorted(times)
    if len(ordered) < 2 or ordered[-1] <= ordered[0]:
        return 0.0
    return (len(ordered) - 1) / (ordered[-1] - ordered[0])
