"""Two gatewayd hosts, each owning two simulated modems, share one PostgreSQL and Redis and
drain a 1,000-message queue: nothing is sent twice and nothing is left behind."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from gatewayd.store import Database, messages, modems
from tests.acceptance.core.procs import (
    Daemon,
    audit,
    environment,
    problems,
    queue_messages,
    simulator,
    statuses,
    wait_for,
    write_config,
)
from tests.support.daemons import migrate_here

pytestmark = pytest.mark.acceptance


async def test_two_hosts_share_one_queue(pg_empty_url: str, redis_url: str, tmp_path: Path) -> None:
    env = environment(SMSGW_DATABASE_URL=pg_empty_url, SMSGW_REDIS_URL=redis_url)
    await migrate_here(pg_empty_url)
    db = Database(pg_empty_url)
    async with simulator(tmp_path, modems=4, latency_ms=10, report_delay_ms=50) as sim:
        devices = [m["device"] for m in sim.modems]
        daemons = []
        for host, owned in (("alpha", devices[:2]), ("beta", devices[2:])):
            config = write_config(
                tmp_path / f"{host}.toml", host=host, devices=owned, data_dir=tmp_path / host
            )
            daemons.append(Daemon(("--config", str(config)), env, tmp_path / f"{host}.log"))
        try:
            for daemon in daemons:
                await daemon.start()
            texts = [f"scale {i}" for i in range(1000)]
            started = time.monotonic()
            ids = await queue_messages(db, texts, redis_url)

            async def all_delivered() -> bool:
                found = await statuses(db)
                return all(s == "delivered" for s in found.values())

            await wait_for(lambda: len(sim.ledger()) >= 1000, timeout=90, what="1000 parts")
            elapsed = time.monotonic() - started
            await wait_for(all_delivered, timeout=30, what="every report")
            outcome = audit(dict(zip(ids, texts, strict=True)), await statuses(db), sim.ledger())
            async with db.read() as conn:
                owners = dict((await conn.execute(select(modems.c.name, modems.c.host))).all())
                claimed = Counter(
                    row.claimed_by for row in await conn.execute(select(messages.c.claimed_by))
                )
            codes = [(await daemon.terminate())[0] for daemon in daemons]
        finally:
            for daemon in daemons:
                await daemon.ensure_stopped()
            await db.close()
    per_modem = Counter(e["modem"] for e in sim.ledger())
    print(
        f"\n1000 parts on 4 modems (2 hosts) in {elapsed:.1f} s: "
        f"{1000 / elapsed / 4:.1f} SMS/s per modem; per modem {dict(per_modem)}"
    )
    assert not problems(outcome), dict(outcome)
    assert outcome["delivered"] == 1000
    assert set(per_modem) == {0, 1, 2, 3}
    assert owners == {
        "alpha-m0": "alpha",
        "alpha-m1": "alpha",
        "beta-m0": "beta",
        "beta-m1": "beta",
    }
    assert claimed == Counter({None: 1000}), "settled messages keep no claim"
    assert codes == [0, 0]
