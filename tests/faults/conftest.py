"""The fault-injection tier: real processes, real PostgreSQL and Redis, simulated modems.

Every test here is marked ``faults`` (:mod:`tests.support.tiers`; part of the default run).
Each scenario ends with :func:`tests.support.audit.audit_database`: nothing lost, nothing sent
twice outside parts shown ``unknown``. Figures are printed as ``FIGURES <json>`` lines (see
docs/reliability.md).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers.helpers import Simulator, start_simulator


def report_figures(scenario: str, figures: dict[str, Any]) -> None:
    print(f"FIGURES {json.dumps({'scenario': scenario, **figures}, sort_keys=True)}")


@pytest.fixture
async def four_modems(tmp_path: Path) -> AsyncIterator[Simulator]:
    """``gatewayd simulate`` with four modems, 5 ms latency and 50 ms reports."""
    running = await start_simulator(
        tmp_path / "simulator", modems=4, latency_ms=5, report_delay_ms=50
    )
    try:
        yield running
    finally:
        await running.process.stop()
