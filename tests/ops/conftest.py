"""The operations tier: production files (compose, nginx, systemd, udev, alerts, scripts)
checked with the real tools — docker-compose, nginx, systemd-analyze, udevadm, promtool,
pg_dump/psql — on this machine, without Docker."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ops: production files checked with the real tools")
