"""A modem worker on real PostgreSQL/SQLite and a simulated modem: bound by IMEI it follows the
modem to its new port after a re-enumeration; a modem that stops answering for good climbs the
recovery ladder into quarantine, seen as bus events and the worker's state."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gatewayd.config import ModemSettings
from gatewayd.events import LiveEvent, ModemRecovery
from gatewayd.simulator import SimNetwork
from gatewayd.store import Database
from gatewayd.worker.recovery import RecoveryPolicy
from gatewayd.worker.supervisor import ModemWorker, WorkerContext
from tests.integration.core_flow.harness import eventually, make_settings

pytestmark = pytest.mark.timeout(90)


async def test_worker_follows_the_modem_then_quarantines_it(db_url: str, tmp_path: Path) -> None:
    network = SimNetwork()
    folder = tmp_path / "dev"
    handles = await network.start(1, folder)
    db = Database(db_url)
    events: list[LiveEvent] = []

    async def publish(event: LiveEvent) -> None:
        events.append(event)

    config = ModemSettings(
        name="w0", device=handles[0].device, imei=handles[0].imei, device_globs=(f"{folder}/*",)
    )
    stopping = asyncio.Event()
    context = WorkerContext(
        settings=make_settings(db_url, tmp_path / "data"),
        db=db,
        host="hw-test",
        publish=publish,
        stopping=stopping,
        health_interval=0.2,
        recovery=RecoveryPolicy(step_timeout=0.5, settle_seconds=0.0, quarantine_seconds=600),
    )
    worker = ModemWorker(config, context)
    task = asyncio.create_task(worker.run())

    async def state_is(wanted: str) -> bool:
        return worker.state == wanted

    try:
        await eventually(lambda: state_is("online"), timeout=20, what="the modem online")
        network.fault(0, "disconnect")
        network.ports[0].link = folder / "ttyUSB9"
        network.reconnect(0)

        async def moved() -> bool:
            return worker.device == str(folder / "ttyUSB9") and worker.state == "online"

        await eventually(moved, timeout=30, what="the modem found under its new name")

        network.fault(0, "hang", seconds=3600)
        await eventually(lambda: state_is("quarantined"), timeout=40, what="quarantine")
        steps = [e.step for e in events if isinstance(e, ModemRecovery)]
        assert steps[-5:] == ["probe", "reinit", "restart", "usb_reset", "quarantine"]
        assert worker.recovery.breaker == "open"
    finally:
        stopping.set()
        await asyncio.wait_for(task, 20)
        await network.close()
        await db.close()
