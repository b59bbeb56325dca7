"""gatewayd as a process on PostgreSQL and Redis with simulated modems: kill -9 in the middle of
300 messages, then a restart; SIGTERM in the middle of a run. The simulator's ledger decides
what was really sent."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from gatewayd.store import Database, message_parts, utc_now
from tests.acceptance.core.procs import (
    Daemon,
    audit,
    environment,
    parts_by_status,
    problems,
    queue_messages,
    simulator,
    statuses,
    wait_for,
    write_config,
)
from tests.support.daemons import migrate_here

pytestmark = pytest.mark.acceptance


async def migrated(url: str, redis_url: str) -> dict[str, str]:
    env = environment(SMSGW_DATABASE_URL=url, SMSGW_REDIS_URL=redis_url)
    assert (await migrate_here(url)).before is None  # schema created
    return env


async def settled_since(db: Database, moment: datetime) -> bool:
    """Nothing queued or sending, and every part sent after ``moment`` has its report."""
    found = await statuses(db)
    if any(s in ("queued", "sending") for s in found.values()):
        return False
    async with db.read() as conn:
        waiting = await conn.execute(
            select(message_parts.c.id).where(
                message_parts.c.status == "sent", message_parts.c.sent_at > moment
            )
        )
        return waiting.first() is None


async def test_kill_9_mid_run_then_restart(
    pg_empty_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = await migrated(pg_empty_url, redis_url)
    db = Database(pg_empty_url)
    async with simulator(tmp_path, modems=2, latency_ms=40, report_delay_ms=100) as sim:
        config = write_config(
            tmp_path / "gatewayd.toml",
            host="crashy",
            devices=[m["device"] for m in sim.modems],
            data_dir=tmp_path / "data",
        )
        daemon = Daemon(("--config", str(config)), env, tmp_path / "gatewayd.log")
        try:
            await daemon.start()
            texts = [f"kill test {i}" for i in range(300)]
            ids = await queue_messages(db, texts, redis_url)
            await wait_for(
                lambda: len(sim.ledger()) >= 120, timeout=30, what="120 parts on the network"
            )
            await daemon.kill()
            killed_at = utc_now()
            sent_before_kill = len(sim.ledger())
            await daemon.start()
            await wait_for(lambda: settled_since(db, killed_at), timeout=45, what="the queue done")
            outcome = audit(dict(zip(ids, texts, strict=True)), await statuses(db), sim.ledger())
            parts = await parts_by_status(db)
            code, _ = await daemon.terminate()
        finally:
            await daemon.ensure_stopped()
            await db.close()
    print(f"\nkill -9 after {sent_before_kill} of 300 parts: {dict(outcome)}; parts {dict(parts)}")
    assert not problems(outcome), dict(outcome)
    # Per modem the part on the wire: these modems' reports are direct, so nothing is
    # prepared ahead of it (``prepare_ahead = "auto"``).
    assert outcome["unknown"] <= 2, "at most one part per modem in doubt at the kill"
    assert set(parts) <= {"delivered", "sent", "unknown"}
    assert outcome["delivered"] >= 288
    assert code == 0


async def test_sigterm_mid_run_leaves_nothing_sending(
    pg_empty_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = await migrated(pg_empty_url, redis_url)
    db = Database(pg_empty_url)
    async with simulator(tmp_path, modems=2, latency_ms=40, report_delay_ms=100) as sim:
        config = write_config(
            tmp_path / "gatewayd.toml",
            host="polite",
            devices=[m["device"] for m in sim.modems],
            data_dir=tmp_path / "data",
        )
        daemon = Daemon(("--config", str(config)), env, tmp_path / "gatewayd.log")
        try:
            await daemon.start()
            texts = [f"term test {i}" for i in range(200)]
            ids = await queue_messages(db, texts, redis_url)
            await wait_for(lambda: len(sim.ledger()) >= 50, timeout=30, what="50 parts sent")
            code, took = await daemon.terminate()
            at_stop = await parts_by_status(db)
            message_states = set((await statuses(db)).values())
            await daemon.start()
            await wait_for(lambda: settled_since(db, utc_now()), timeout=45, what="the rest")
            outcome = audit(dict(zip(ids, texts, strict=True)), await statuses(db), sim.ledger())
        finally:
            await daemon.ensure_stopped()
            await db.close()
    print(f"\nSIGTERM: exit {code} in {took:.2f} s; parts at stop {dict(at_stop)}; {dict(outcome)}")
    assert code == 0 and took < 5
    assert at_stop["sending"] == 0 and at_stop["unknown"] == 0
    assert "sending" not in message_states
    assert not problems(outcome), dict(outcome)
    assert outcome["unknown"] == 0
