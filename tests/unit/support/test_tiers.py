"""The tier markers (:mod:`tests.support.tiers`): each test gets its folder's marker, so
``-m`` selects a tier; a test marked with another tier, or outside a tier folder, stops the
run naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.inner_pytest import outcome_counts, run_pytest

CONFTEST = """
from pathlib import Path

import pytest

from tests.support.tiers import mark_by_folder


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    mark_by_folder(items, Path(__file__).parent)
"""

PASSES = "def test_passes():\n    assert True\n"


def sample(tmp_path: Path, files: dict[str, str]) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)


def test_minus_m_selects_the_tests_of_a_folder(tmp_path: Path) -> None:
    sample(tmp_path, {"unit/test_a.py": PASSES, "ops/test_b.py": PASSES, "ops/test_c.py": PASSES})
    unit = run_pytest(tmp_path, "-m", "unit", "-W", "ignore::pytest.PytestUnknownMarkWarning")
    assert unit.returncode == pytest.ExitCode.OK, unit.stdout
    assert outcome_counts(unit.stdout) == {"passed": 1, "deselected": 2}, unit.stdout
    ops = run_pytest(tmp_path, "-m", "ops", "-W", "ignore::pytest.PytestUnknownMarkWarning")
    assert outcome_counts(ops.stdout) == {"passed": 2, "deselected": 1}, ops.stdout


def test_another_tiers_marker_or_no_tier_folder_stops_the_run(tmp_path: Path) -> None:
    sample(
        tmp_path,
        {
            "ops/test_a.py": "import pytest\n\n\n@pytest.mark.integration\n" + PASSES,
            "elsewhere/test_b.py": PASSES,
        },
    )
    run = run_pytest(tmp_path, "-W", "ignore::pytest.PytestUnknownMarkWarning")
    output = run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "ops/test_a.py::test_passes: in tests/ops but marked integration" in output, output
    assert "elsewhere/test_b.py::test_passes: not in a tier folder (unit," in output, output
