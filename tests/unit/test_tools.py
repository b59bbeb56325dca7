"""What the tests need is installed by the test command, and a missing tool fails in one line
naming its package (:mod:`tests.support.tools`)."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

from tests.support import tools
from tests.support.inner_pytest import REPO, run_pytest


def system_deps_packages() -> set[str]:
    script = (REPO / "scripts" / "system-deps.sh").read_text()
    found = re.search(r"^packages=\(([^)]*)\)", script, re.MULTILINE)
    assert found, "no packages=(...) in scripts/system-deps.sh"
    return set(found.group(1).split())


def dev_extra() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {
        re.split(r"[<>=!~\[ ]", spec, maxsplit=1)[0].lower()
        for spec in project["optional-dependencies"]["dev"]
    }


def test_system_deps_installs_the_package_of_every_program() -> None:
    missing = set(tools.DEBIAN_PACKAGES.values()) - system_deps_packages()
    assert not missing, f"add to scripts/system-deps.sh: {sorted(missing)}"


def test_the_dev_extra_has_every_test_tool_module() -> None:
    missing = set(tools.PYPI_PACKAGES.values()) - dev_extra()
    assert not missing, f"add to the dev extra of pyproject.toml: {sorted(missing)}"


@pytest.mark.parametrize("program", sorted(tools.DEBIAN_PACKAGES))
def test_every_program_the_tests_call_is_installed(program: str) -> None:
    directories = (tools.PG_BIN,) if tools.DEBIAN_PACKAGES[program] == "postgresql" else ()
    assert Path(tools.require_program(program, directories=directories)).is_file()


@pytest.mark.parametrize("module", sorted(tools.PYPI_PACKAGES))
def test_every_test_tool_module_is_installed(module: str) -> None:
    tools.require_module(module)
    assert importlib.util.find_spec(module) is not None


def test_a_missing_program_fails_in_one_line_naming_its_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(tools.DEBIAN_PACKAGES, "smsgw-absent-tool", "smsgw-absent-package")
    with pytest.raises(pytest.fail.Exception) as caught:
        tools.require_program("smsgw-absent-tool")
    assert str(caught.value) == (
        "smsgw-absent-tool is not installed: Debian package "
        "smsgw-absent-package (scripts/system-deps.sh installs it)"
    )
    assert caught.value.pytrace is False


def test_a_missing_module_fails_in_one_line_naming_its_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(tools.PYPI_PACKAGES, "smsgw_absent_module", "smsgw-absent-dist")
    with pytest.raises(
        pytest.fail.Exception,
        match=r"^Python module smsgw_absent_module is "
        r"not installed: PyPI package smsgw-absent-dist \(scripts/bootstrap.sh",
    ):
        tools.require_module("smsgw_absent_module")


def test_a_program_outside_the_table_is_a_mistake_of_the_test() -> None:
    with pytest.raises(KeyError, match=r"add it there and to scripts/system-deps\.sh"):
        tools.require_program("vi")


def test_a_module_importing_a_missing_tool_fails_collection_in_one_line(tmp_path: Path) -> None:
    """A test module, and a conftest, whose import of a test tool fails: the run fails and
    says which PyPI package to install, in one line each."""
    (tmp_path / "conftest.py").write_text(
        "from tests.support import tools\n"
        "tools.PYPI_PACKAGES['smsgw_absent_module'] = 'smsgw-absent-dist'\n"
    )
    (tmp_path / "test_sample.py").write_text(
        "import smsgw_absent_module.sub\n\ndef test_nothing():\n    pass\n"
    )
    nested = tmp_path / "nested"
    nested.mkdir()
    (nested / "conftest.py").write_text("import smsgw_absent_module\n")
    (nested / "test_more.py").write_text("def test_nothing():\n    pass\n")
    run = run_pytest(tmp_path, "-p", "tests.support.tools")
    output = run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.INTERRUPTED, output
    one_line = (
        "Python module smsgw_absent_module is not installed: PyPI package "
        "smsgw-absent-dist (scripts/bootstrap.sh .venv dev installs it)"
    )
    assert re.findall(r"^_+ ERROR collecting (\S+) _+\n(.*)$", output, re.MULTILINE) == [
        ("nested", one_line),
        ("test_sample.py", one_line),
    ], output
    assert "Traceback" not in output, output


def test_under_xdist_a_missing_tool_still_fails_the_run_in_one_line(tmp_path: Path) -> None:
    """The same under pytest-xdist, where workers collect and run the tests: a module that
    cannot import a tool fails the collection and a test that requires a missing program fails,
    each in one line naming the package (xdist shows an error that several modules share
    once)."""
    (tmp_path / "conftest.py").write_text(
        "from tests.support import tools\n"
        "tools.PYPI_PACKAGES['smsgw_absent_module'] = 'smsgw-absent-dist'\n"
        "tools.DEBIAN_PACKAGES['smsgw-absent-tool'] = 'smsgw-absent-package'\n"
    )
    (tmp_path / "test_sample.py").write_text(
        "import smsgw_absent_module.sub\n\ndef test_nothing():\n    pass\n"
    )
    (tmp_path / "test_program.py").write_text(
        "from tests.support import tools\n\n"
        "def test_program():\n    tools.require_program('smsgw-absent-tool')\n"
    )
    run = run_pytest(
        tmp_path,
        "-p",
        "tests.support.tools",
        "-p",
        "xdist.plugin",
        "-n",
        "2",
        "--continue-on-collection-errors",
    )
    output = run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, output
    assert re.findall(r"^_+ ERROR collecting (\S+) _+\n(.*)$", output, re.MULTILINE) == [
        (
            "test_sample.py",
            "Python module smsgw_absent_module is not installed: PyPI package "
            "smsgw-absent-dist (scripts/bootstrap.sh .venv dev installs it)",
        )
    ], output
    assert re.findall(r"^_+ (test_program) _+\n\[gw\d\] .*\n(.*)$", output, re.MULTILINE) == [
        (
            "test_program",
            "smsgw-absent-tool is not installed: Debian package smsgw-absent-package "
            "(scripts/system-deps.sh installs it)",
        )
    ], output
    assert "Traceback" not in output, output
