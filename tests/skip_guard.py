"""A pytest plugin that fails the run when a test is skipped outside the allow-list.

:class:`SkipGuard` turns every skip that :mod:`tests.skip_allowlist` does not name (node id
and reason both) into a failure, of a test or of a module's collection, whose one-line message
says so; an xfail that is not strict with a reason fails likewise. ``tests/conftest.py``
registers it with :data:`~tests.skip_allowlist.ALLOWED_SKIPS`; docs/testing.md explains the
rule.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any

import pytest

from tests.skip_allowlist import AllowedSkip

ALLOW_LIST = "tests/skip_allowlist.py"


def skip_reason(longrepr: Any) -> str:
    """The reason of a skip report (its longrepr is ``(path, line, "Skipped: reason")``)."""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


class SkipGuard:
    """See the module docstring; ``allowed`` are the skips that may stay skips."""

    def __init__(self, allowed: Iterable[AllowedSkip]) -> None:
        self.allowed = {(entry.node, entry.reason) for entry in allowed}

    def skip_problem(self, nodeid: str, reason: str) -> str | None:
        if (nodeid, reason) in self.allowed:
            return None
        return f"skipped outside the allow-list ({ALLOW_LIST}): {reason}"

    @staticmethod
    def xfail_problem(item: pytest.Item) -> str | None:
        marker = item.get_closest_marker("xfail")
        if marker is None:
            return (
                "pytest.xfail() inside a test is not allowed: mark the test "
                "xfail(strict=True, reason=...)"
            )
        strict = marker.kwargs.get("strict", item.config.getini("xfail_strict"))
        reason = marker.kwargs.get("reason") or (marker.args[1] if len(marker.args) > 1 else "")
        if not strict or not reason:
            return f"an xfail must be strict and give a reason ({ALLOW_LIST})"
        return None

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if hasattr(report, "wasxfail"):
            problem = self.xfail_problem(item)
        elif report.skipped:
            problem = self.skip_problem(report.nodeid, skip_reason(report.longrepr))
        else:
            problem = None
        if problem is not None:
            report.outcome = "failed"
            report.longrepr = problem
            if hasattr(report, "wasxfail"):
                del report.wasxfail
        return report

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        if report.skipped:
            problem = self.skip_problem(report.nodeid, skip_reason(report.longrepr))
            if problem is not None:
                report.outcome = "failed"
                report.longrepr = problem
        return report
