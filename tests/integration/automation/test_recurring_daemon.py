"""A recurring send run by the daemon's housekeeping sweep against a simulated modem: the
run is sent once, across a daemon restart, on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from gatewayd.store import messages, recurring_runs, recurring_sends, utc_now
from tests.integration.core_flow.harness import flow

REASSEMBLY = timedelta(seconds=60)


async def test_due_run_sent_once_across_a_restart(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, modems=1) as f:
        now = utc_now()
        async with f.db.begin() as conn:
            await conn.execute(
                insert(recurring_sends).values(
                    name="daily",
                    text="Daily report",
                    recipients=["+5511912345678"],
                    group_ids=[],
                    schedule={"every": "day", "at": "09:00"},
                    tz="America/Sao_Paulo",
                    next_run_at=now - timedelta(seconds=1),
                    created_by="test",
                    created_at=now,
                    updated_at=now,
                )
            )
        await f.gateway.sweep(REASSEMBLY)
        await f.stop()
        await f.start()
        await f.gateway.sweep(REASSEMBLY)
        async with f.db.read() as conn:
            sent = (await conn.execute(select(messages.c.id, messages.c.created_by))).all()
            runs = (await conn.execute(select(recurring_runs))).all()
            following = await conn.scalar(select(recurring_sends.c.next_run_at))
        assert [row.created_by for row in sent] == ["recurring:1"]
        assert len(runs) == 1 and runs[0].queued == 1
        assert following is not None and following > now
        await f.wait_status([sent[0].id], {"sent", "delivered"})
