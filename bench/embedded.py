"""The embedded setup in one process: :class:`~gatewayd.service.daemon.Gateway`, an in-process bus
and a :class:`~gatewayd.simulator.SimNetwork` on ptys, with a SQLite (or PostgreSQL) store.
Wake-ups go through the bus exactly as the in-process web API publishes them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

from bench.simulate_precise import install as precise_ledger
from bench.simulate_precise import uninstall as plain_ledger
from bench.stack import migrated
from gatewayd.bus import InProcessBus
from gatewayd.config import ModemSettings, Settings, load_settings
from gatewayd.events import WAKE, WakeUp
from gatewayd.logging_setup import configure_logging
from gatewayd.service.daemon import Gateway
from gatewayd.service.runtime import open_database, with_modems
from gatewayd.simulator import SimNetwork
from gatewayd.store import Database


@dataclass
class Embedded:
    settings: Settings
    db: Database
    bus: InProcessBus
    network: SimNetwork
    gateway: Gateway

    async def wake(self) -> None:
        await self.bus.publish(WAKE, WakeUp(reason="queued"))


@contextlib.asynccontextmanager
async def embedded(
    work: Path,
    url: str,
    *,
    modems: int = 1,
    latency_ms: float = 50.0,
    report_delay_ms: float = 200.0,
    poll_interval: float = 2.0,
    log_to_file: bool = True,
) -> AsyncIterator[Embedded]:
    """Everything started and every modem online; stopped in order on exit. The ledger's
    entries carry the precise time ``t`` meanwhile."""
    data_dir = work / "data"
    if log_to_file:
        configure_logging(data_dir / "gatewayd.log", "INFO")
    settings = load_settings(None, env={"SMSGW_DATABASE_URL": url, "SMSGW_DATA_DIR": str(data_dir)})
    settings = replace(
        settings, gateway=replace(settings.gateway, host="bench", poll_interval=poll_interval)
    )
    if not settings.database.is_sqlite:
        await (await migrated(url)).close()
    db = await open_database(settings, create=True)
    network = SimNetwork(latency_ms=latency_ms, report_delay_ms=report_delay_ms)
    bus = InProcessBus()
    task: asyncio.Task[None] | None = None
    gateway: Gateway | None = None
    precise_ledger()
    try:
        handles = await network.start(modems, work / "dev")
        simulated = tuple(ModemSettings(name=f"sim{h.index}", device=h.device) for h in handles)
        settings = with_modems(settings, simulated)
        gateway = Gateway(settings, db, bus)
        task = asyncio.create_task(gateway.run())
        deadline = time.monotonic() + 60
        while not all(w.state == "online" for w in gateway.workers.values()):
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError("the embedded gateway did not bring its modems online")
            await asyncio.sleep(0.05)
        yield Embedded(settings, db, bus, network, gateway)
    finally:
        if gateway is not None and task is not None:
            gateway.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 30)
        await network.close()
        await bus.close()
        await db.close()
        plain_ledger()
        if log_to_file:
            configure_logging(None, "WARNING")  # the work directory and its log file go away
