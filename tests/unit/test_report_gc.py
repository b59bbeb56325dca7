"""The report plugin (:mod:`tests.support.report_gc`): a failure is reported even when
finalizers that parse Python are pending while pytest parses the test's source (without the
plugin, Python 3.11 raises ``SystemError`` there and the run ends in ``INTERNALERROR``). The
day the case without the plugin passes, the Python running the tests has the fix and the
plugin can go."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.inner_pytest import outcome_counts, run_pytest

# Cyclic garbage whose finalizer parses Python, as the report of an "Event loop is closed"
# from a leftover subprocess transport does, and leaves another such cycle behind until the
# test's report is out; the collector runs at nearly every allocation.
CONFTEST = """
import ast

REPORTED = []


class Parses:
    def __del__(self):
        ast.parse("x = (1 + (2 + (3 + 4)))")
        if not REPORTED:
            again = Parses()
            again.cycle = again


def pytest_runtest_logreport(report):
    if report.when == "call":
        REPORTED.append(report)
"""

SAMPLE = """
import gc

from conftest import Parses


def test_fails_with_finalizers_pending():
    gc.set_threshold(1)
    garbage = Parses()
    garbage.cycle = garbage
    del garbage
    assert 1 == 2
"""


@pytest.mark.parametrize("plugin", [True, False], ids=["with the plugin", "without"])
def test_a_failure_is_reported_while_finalizers_parse(tmp_path: Path, plugin: bool) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    run = run_pytest(tmp_path, *(["-p", "tests.support.report_gc"] if plugin else []))
    output = run.stdout + run.stderr
    if plugin:
        assert run.returncode == pytest.ExitCode.TESTS_FAILED, output
        assert outcome_counts(output) == {"failed": 1}, output
        assert "assert 1 == 2" in output, output
        assert "SystemError" not in output, output
    else:
        assert run.returncode == pytest.ExitCode.INTERNAL_ERROR, output
        assert "SystemError: AST constructor recursion depth mismatch" in output, output
