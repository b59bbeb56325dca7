"""pytest run in a subprocess over a folder of sample tests, for the tests of the suite's own
plugins (:mod:`tests.skip_guard`, :mod:`tests.support.tools`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_pytest(directory: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """pytest over ``directory`` alone (its own rootdir and settings, none of the suite's
    conftests nor installed plugins), with the repository importable."""
    (directory / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(directory),
            "-c",
            str(directory / "pytest.ini"),
            *options,
            str(directory),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )


def outcome_counts(output: str) -> dict[str, int]:
    """The closing line's counts, e.g. ``{"failed": 2, "passed": 1}``."""
    last = [line for line in output.splitlines() if line.startswith("=")][-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}
