"""How the xdist workers share the tests (:mod:`tests.support.scheduling`): a tier that shares
its servers runs on one worker."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.inner_pytest import outcome_counts, run_pytest

RECORDS_WORKER = """
import json, os, pathlib, time

def record(name):
    time.sleep(0.2)
    out = pathlib.Path(__file__).parents[2] / "workers.jsonl"
    with out.open("a") as f:
        f.write(json.dumps([name, os.environ["PYTEST_XDIST_WORKER"]]) + "\\n")
"""


def test_a_one_worker_tier_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ("tests.support.scheduling",)\n')
    for tier in ("browser", "unit"):
        folder = tmp_path / "tests" / tier
        folder.mkdir(parents=True)
        tests = "".join(f"\n\ndef test_{n}():\n    record('{tier}{n}')\n" for n in range(6))
        (folder / f"test_{tier}.py").write_text(RECORDS_WORKER + tests)
    run = run_pytest(tmp_path, "-p", "xdist.plugin", "-n", "3", "--dist", "loadgroup")
    assert outcome_counts(run.stdout) == {"passed": 12}, run.stdout + run.stderr
    lines = (tmp_path / "workers.jsonl").read_text().splitlines()
    workers = {name: worker for name, worker in map(json.loads, lines)}
    assert len({workers[f"browser{n}"] for n in range(6)}) == 1, workers
