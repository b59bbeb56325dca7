"""The skip guard (:mod:`tests.skip_guard`): a run over sample tests that skip fails unless
each skip is on the allow-list, by node id and reason; xfails must be strict with a reason,
in one process and under pytest-xdist (whose workers run the tests and report to the main
process). The suite's own allow-list names tests and reasons that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.skip_allowlist import ALLOWED_SKIPS
from tests.support.inner_pytest import REPO, outcome_counts, run_pytest

CONFTEST = """
from tests.skip_allowlist import AllowedSkip
from tests.skip_guard import SkipGuard


def pytest_configure(config):
    config.pluginmanager.register(SkipGuard([
        AllowedSkip("test_sample.py::test_allowed", "on purpose", "sample"),
        AllowedSkip("test_sample.py::test_other_reason", "the listed reason", "sample"),
        AllowedSkip("test_sample.py::test_platform[sqlite]", "PostgreSQL only", "sample"),
    ]), "skip-guard")
"""

SAMPLE = """
import pytest


def test_passes():
    assert True


def test_allowed():
    pytest.skip("on purpose")


def test_other_reason():
    pytest.skip("another reason")


def test_unlisted():
    pytest.skip("tool not installed")


@pytest.mark.skipif(True, reason="marked away")
def test_skipif():
    pass


@pytest.mark.parametrize("db", ["postgresql", "sqlite"])
def test_platform(db):
    if db == "sqlite":
        pytest.skip("PostgreSQL only")


@pytest.mark.xfail(strict=True, reason="gap written down in FINDINGS.md")
def test_strict_xfail():
    assert False


@pytest.mark.xfail(strict=False, reason="maybe")
def test_lax_xfail():
    assert False


@pytest.mark.xfail(reason="passes anyway", strict=False)
def test_lax_xpass():
    pass


@pytest.mark.xfail(strict=True)
def test_xfail_without_reason():
    assert False


def test_imperative_xfail():
    pytest.xfail("not today")
"""

SKIPPED_MODULE = """
import pytest

pytest.skip("whole module away", allow_module_level=True)


def test_never_runs():
    pass
"""


# One process, and two xdist workers.
RUNNERS = {"serial": (), "xdist": ("-p", "xdist.plugin", "-n", "2")}


def one_line_failures(output: str) -> dict[str, str]:
    """``{test or module: message}`` of the FAILURES and ERRORS sections, each message one
    line (the next line starts another section or the summary; the line naming the xdist
    worker that ran the test is left out)."""
    output = re.sub(r"^\[gw\d+\] .*\n", "", output, flags=re.MULTILINE)
    found = re.findall(
        r"^_+ (?:ERROR collecting |ERROR at setup of )?(\S+) _+\n(.*)(?=\n[_=])",
        output,
        re.MULTILINE,
    )
    return dict(found)


@pytest.mark.parametrize("runner", RUNNERS)
def test_skips_outside_the_allow_list_fail_the_run(tmp_path: Path, runner: str) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "test_skipped_module.py").write_text(SKIPPED_MODULE)
    run = run_pytest(tmp_path, *RUNNERS[runner], "--continue-on-collection-errors")
    output = run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, output
    assert outcome_counts(output) == {
        "passed": 2,
        "skipped": 2,
        "xfailed": 1,
        "failed": 6,
        "errors": 2,
    }, output
    listed = "skipped outside the allow-list (tests/skip_allowlist.py)"
    lax = "an xfail must be strict and give a reason (tests/skip_allowlist.py)"
    assert one_line_failures(output) == {
        "test_other_reason": f"{listed}: another reason",
        "test_unlisted": f"{listed}: tool not installed",
        "test_skipif": f"{listed}: marked away",
        "test_lax_xfail": lax,
        "test_lax_xpass": lax,
        "test_xfail_without_reason": lax,
        "test_imperative_xfail": "pytest.xfail() inside a test is not allowed: mark the test "
        "xfail(strict=True, reason=...)",
        "test_skipped_module.py": f"{listed}: whole module away",
    }, output


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_run_whose_only_skips_are_allowed_passes(tmp_path: Path, runner: str) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    run = run_pytest(
        tmp_path, *RUNNERS[runner], "-k", "passes or allowed or platform or strict_xfail"
    )
    output = run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.OK, output
    expected = {"passed": 2, "skipped": 2, "xfailed": 1}
    if runner == "serial":  # the xdist summary does not count what the workers deselected
        expected["deselected"] = 7
    assert outcome_counts(output) == expected, output


@pytest.mark.parametrize("entry", ALLOWED_SKIPS, ids=lambda e: e.node)
def test_the_allow_list_names_real_tests_and_their_reasons(entry: object) -> None:
    node, reason = entry.node, entry.reason  # type: ignore[attr-defined]
    path, _, name = node.partition("::")
    source = (REPO / path).read_text()
    functions = {
        n.name
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assert name.split("[")[0] in functions
    assert f'"{reason}"' in source
    assert entry.why  # type: ignore[attr-defined]


def test_the_suite_runs_with_the_guard_and_strict_xfails() -> None:
    text = (REPO / "tests" / "conftest.py").read_text()
    assert "SkipGuard(ALLOWED_SKIPS)" in text
    assert re.search(r"^xfail_strict = true$", (REPO / "pyproject.toml").read_text(), re.MULTILINE)
