"""Fixtures for the peer tests: a running ``gatewayd simulate`` and an HTTP recorder.

Every test here drives a real third-party program (gammu, gammu-smsd, smstools, Kannel)
through simulated modems; the shared plumbing lives in ``helpers``, ``runners`` and
``receiver`` so the benchmarks can reuse it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.peers.helpers import Simulator, start_simulator
from tests.peers.receiver import HttpRecorder


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[Simulator]:
    """Two simulated modems, a ledger, a control API; reports follow submits after 200 ms."""
    running = await start_simulator(
        tmp_path / "simulator", modems=2, latency_ms=20, report_delay_ms=200
    )
    try:
        yield running
    finally:
        await running.process.stop()


@pytest.fixture
async def http_recorder() -> AsyncIterator[HttpRecorder]:
    recorder = HttpRecorder()
    await recorder.start()
    try:
        yield recorder
    finally:
        await recorder.stop()
