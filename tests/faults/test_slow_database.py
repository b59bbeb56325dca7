"""A database that stalls (a lock held by a long migration or VACUUM FULL) while a delivery
report arrives directly (+CDS). The modem does not keep such a report: if storing it is given
up after the acknowledgement deadline, it is gone and the message stays ``sent`` for ever."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

import gatewayd.modem.at_driver as driver
from gatewayd.queue import NewMessage
from tests.integration.core_flow.harness import EXTERNAL, eventually, flow


@pytest.fixture
def db_url(pg_url: str) -> str:
    return pg_url


async def test_direct_report_stored_after_a_database_stall(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(driver, "CALLBACK_TIMEOUT", 0.3)  # the acknowledgement deadline
    async with flow(db_url, tmp_path, modems=1, report_delay_ms=800) as f:
        [message_id] = await f.send(NewMessage(EXTERNAL, "report during a stall"))
        await f.wait_status([message_id], "sent", timeout=20)
        blocker = await asyncpg.connect(db_url.replace("postgresql://", "postgres://"))
        try:
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE message_parts IN ACCESS EXCLUSIVE MODE")
                waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"

                async def report_blocked() -> bool:
                    return bool(await blocker.fetchval(waiting))

                await eventually(report_blocked, timeout=10, what="the report's write blocked")
                await asyncio.sleep(1.0)  # the stall goes on past the acknowledgement deadline
        finally:
            await blocker.close()
        await f.wait_status([message_id], "delivered", timeout=20)
