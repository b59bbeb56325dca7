"""The programs and Python modules the tests need, and the package that brings each.

The suite never skips for a missing tool: :func:`require_program` and :func:`require_module`
fail the test (or the module, at import) with one line naming the Debian or PyPI package, and
the :func:`pytest_make_collect_report` hook (loaded by ``tests/conftest.py``) turns a test
module's or conftest's ``ModuleNotFoundError`` for a module of :data:`PYPI_PACKAGES` into the
same one line. ``scripts/system-deps.sh`` installs every Debian package named here and
``scripts/bootstrap.sh .venv dev`` every PyPI one (``tests/unit/test_tools.py`` checks both
lists against these tables, and that each program is installed).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import Generator, Sequence
from pathlib import Path

import pytest

DEBIAN_PACKAGES: dict[str, str] = {
    "bearerbox": "kannel",
    "chromium": "chromium",
    "createdb": "postgresql",
    "curl": "curl",
    "docker-compose": "docker-compose",
    "gammu": "gammu",
    "gammu-smsd": "gammu-smsd",
    "gammu-smsd-inject": "gammu-smsd",
    "gunzip": "gzip",
    "initdb": "postgresql",
    "jq": "jq",
    "logrotate": "logrotate",
    "nginx": "nginx",
    "openssl": "openssl",
    "pg_basebackup": "postgresql-client",
    "pg_ctl": "postgresql",
    "pg_dump": "postgresql-client",
    "pgrep": "procps",
    "promtool": "prometheus",
    "psql": "postgresql-client",
    "redis-cli": "redis-tools",
    "redis-server": "redis-server",
    "runuser": "util-linux",
    "shellcheck": "shellcheck",
    "smsbox": "kannel",
    "smsd": "smstools",
    "systemd-analyze": "systemd",
    "udevadm": "udev",
    "unshare": "util-linux",
}
"""Every program a test runs (itself or through a script under test) -> its Debian package."""

PYPI_PACKAGES: dict[str, str] = {
    "atheris": "atheris",
    "hypothesis": "hypothesis",
    "playwright": "playwright",
    "schemathesis": "schemathesis",
    "smpplib": "smpplib",
}
"""Python modules of test tools (not of the product) -> their PyPI package (the dev extra)."""

PG_BIN = Path(os.environ.get("SMSGW_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
"""Where the PostgreSQL server programs (initdb, pg_ctl, createdb) are."""

_SBIN = (Path("/usr/sbin"), Path("/usr/bin"), Path("/sbin"))
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")


def missing_program(name: str) -> str:
    package = DEBIAN_PACKAGES[name]
    return f"{name} is not installed: Debian package {package} (scripts/system-deps.sh installs it)"


def missing_module(name: str) -> str:
    package = PYPI_PACKAGES[name.split(".")[0]]
    return (
        f"Python module {name} is not installed: PyPI package {package} "
        "(scripts/bootstrap.sh .venv dev installs it)"
    )


def require_program(name: str, *, directories: Sequence[Path] = ()) -> str:
    """The path of program ``name`` (on PATH, in ``directories`` or an sbin); otherwise the
    test fails with one line naming its Debian package."""
    if name not in DEBIAN_PACKAGES:
        raise KeyError(
            f"{name} is not in tests.support.tools.DEBIAN_PACKAGES: add it there "
            "and to scripts/system-deps.sh"
        )
    found = shutil.which(name) if not directories else None
    candidates = [d / name for d in (*directories, *_SBIN)]
    found = found or next((str(p) for p in candidates if os.access(p, os.X_OK)), None)
    if found is None:
        pytest.fail(missing_program(name), pytrace=False)
    return found


def require_programs(*names: str) -> list[str]:
    return [require_program(name) for name in names]


def require_module(name: str) -> None:
    """Fail with one line naming the PyPI package unless module ``name`` can be imported."""
    if name.split(".")[0] not in PYPI_PACKAGES:
        raise KeyError(f"{name} is not in tests.support.tools.PYPI_PACKAGES")
    if importlib.util.find_spec(name.split(".")[0]) is None:
        pytest.fail(missing_module(name), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A module or conftest that cannot import a test tool fails in one line naming it."""
    report = yield
    if report.failed:
        found = _NO_MODULE.search(str(report.longrepr))
        if found and found.group(1).split(".")[0] in PYPI_PACKAGES:
            report.longrepr = missing_module(found.group(1))
    return report
