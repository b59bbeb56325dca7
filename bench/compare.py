"""Compare the figures of ``bench/results/`` with those of an earlier commit: for each set-up,
the earlier runs' median against the present runs' median and range, and whether the figure
got worse by more than the run-to-run noise.

The noise is the wider of the two ranges (min..max of each side's runs); an earlier file of a
single run has no range of its own. A figure *fell* when its present median is worse than the
earlier median by more than that noise.

Run: .venv/bin/python -m bench.compare [REV] (default HEAD; the present files are those in the
working tree).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bench.common import REPO_ROOT, Result, read_results
from bench.verdict import Spread

Figures = dict[str, tuple[list[float], bool]]
"""figure name -> (per-run values, higher is better)"""


@dataclass(frozen=True)
class Change:
    name: str
    before: Spread
    after: Spread
    higher_is_better: bool

    @property
    def noise(self) -> float:
        return max(self.before.high - self.before.low, self.after.high - self.after.low)

    @property
    def fell(self) -> bool:
        """Worse by more than the noise."""
        worse_by = self.before.median - self.after.median
        if not self.higher_is_better:
            worse_by = -worse_by
        return worse_by > self.noise


def _runs(result: Result) -> list[Result]:
    runs: list[Result] = result.get("runs") or [result]
    return runs


def _add(out: Figures, name: str, value: Any, higher_is_better: bool) -> None:
    if isinstance(value, int | float):
        out.setdefault(name, ([], higher_is_better))[0].append(float(value))


def figures(results: dict[str, Result]) -> Figures:
    """The figures of the targets table, per set-up, with all their runs."""
    out: Figures = {}
    for run in _runs(results.get("limit", {})):
        if "ratio" in run:
            _add(out, f"limit {run['latency_ms']:g} ms {run['database']} ratio", run["ratio"], True)
    for run in _runs(results.get("scale", {})):
        if "ratio" in run:
            key = f"scale {run['modems']} {run['database']}"
            _add(out, f"{key} ratio", run["ratio"], True)
            _add(out, f"{key} peak RSS MB", run["gatewayd_peak_rss_mb"], False)
            _add(out, f"{key} CPU ms/part", run.get("gatewayd_cpu_ms_per_part"), False)
    for run in _runs(results.get("latency", {})):
        if "queue_latency" in run:
            for p in ("p50_ms", "p99_ms"):
                _add(out, f"latency {run['setup']} {p}", run["queue_latency"][p], False)
    for run in _runs(results.get("ingest", {})):
        if "database" in run:
            db = run["database"]
            _add(out, f"ingest {db} single/s", run.get("single_per_s"), True)
            _add(out, f"ingest {db} batch/s", run.get("batch_recipients_per_s"), True)
    size = results.get("at_size")
    if size:
        for run in _runs(size):
            if "apply_status_report" not in run:
                continue
            _add(out, "at size report p95", run["apply_status_report"]["p95_ms"], False)
            _add(out, "at size by id p95", run["get_by_id"]["p95_ms"], False)
            for page, row in run["list_by_status"].items():
                _add(out, f"at size {page} p95", row["p95_ms"], False)
    return out


def compare(before: dict[str, Result], after: dict[str, Result]) -> Iterator[Change]:
    earlier, present = figures(before), figures(after)
    for name, (values, higher) in present.items():
        if name in earlier:
            yield Change(name, Spread.of(earlier[name][0]), Spread.of(values), higher)


def results_at(rev: str) -> dict[str, Result]:
    """The results files as committed in ``rev``."""
    listed = subprocess.run(
        ["git", "ls-tree", "--name-only", rev, "bench/results/"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found = {}
    for path in listed:
        if path.endswith(".json"):
            text = subprocess.run(
                ["git", "show", f"{rev}:{path}"],
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            found[path.rsplit("/", 1)[1].removesuffix(".json")] = json.loads(text)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", default="HEAD")
    args = parser.parse_args()
    fell = 0
    for change in compare(results_at(args.rev), read_results()):
        fell += change.fell
        print(
            f"{'FELL' if change.fell else 'ok  '} {change.name}: {change.before.text(3)} -> "
            f"{change.after.text(3)} (noise {change.noise:.3f})"
        )
    print(f"{fell} figure(s) worse by more than the noise")


if __name__ == "__main__":
    main()
