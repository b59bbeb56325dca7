"""Shared test settings: fixtures every tier may use are loaded here once, every test is marked
with its tier (:mod:`tests.support.tiers`), a missing test tool fails in one line naming its
package (:mod:`tests.support.tools`), the run fails on any skip outside the allow-list
(:mod:`tests.skip_guard`, :mod:`tests.skip_allowlist`), and a failure is reported even when
finalizers run meanwhile (:mod:`tests.support.report_gc`); under pytest-xdist the browser tier
runs on one worker (:mod:`tests.support.scheduling`).
Hypothesis never judges by the clock (no deadline, no "too slow" health check): a verdict may
not depend on how busy the machine is."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support.worker_redis import start_for_this_worker

start_for_this_worker()

from tests.skip_allowlist import ALLOWED_SKIPS  # noqa: E402
from tests.skip_guard import SkipGuard  # noqa: E402
from tests.support.tiers import mark_by_folder  # noqa: E402

settings.register_profile("gateway", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("gateway")

pytest_plugins = (
    "tests.fixtures_db",
    "tests.support.tools",
    "tests.support.report_gc",
    "tests.support.scheduling",
)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipGuard(ALLOWED_SKIPS), "skip-guard")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Before ``-m`` deselects: the tier markers."""
    mark_by_folder(items, Path(__file__).parent)
