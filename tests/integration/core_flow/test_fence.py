"""The fence on a running gateway: when its lease cannot be renewed, a host stops writing to
its modems at its own deadline (before the expiry others go by), although its database writes
still work; once renewed, it carries on under the same epoch and nothing is lost or sent twice.
And a host whose work was taken over drops what it held and rejoins at a new epoch."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from gatewayd.config import LeaseSettings
from gatewayd.queue.lease import alive, database_time
from gatewayd.queue.takeover import Takeover, dead_hosts, take_over
from gatewayd.store import Database, gateway_hosts, utc_now
from tests.integration.core_flow.harness import Flow, eventually, flow
from tests.support.flows import settle, traffic

LEASE = LeaseSettings(expiry=3.0, renew_interval=0.5, safety_margin=0.75)
HOST = "core-flow"


def written_after(f: Flow, moment: float) -> list[dict[str, object]]:
    return [
        e for e in f.network.ledger if datetime.fromisoformat(str(e["at"])).timestamp() > moment
    ]


async def lease_alive(db: Database) -> bool:
    async with db.read() as conn:
        row = await conn.execute(select(alive(conn)).where(gateway_hosts.c.host == HOST))
        return bool(row.scalar_one())


async def test_stalled_renewals_stop_the_modems_until_renewed(pg_url: str, tmp_path: Path) -> None:
    async with flow(pg_url, tmp_path, modems=2, latency_ms=30, lease=LEASE) as f:
        await f.send(*traffic("fence", 400, long_every=5))
        await eventually(lambda: _at_least(f, 20), timeout=30, what="20 parts on the ledger")
        holder = Database(pg_url)
        try:
            async with holder.begin() as conn:
                # FOR NO KEY UPDATE: the host's renewals wait behind it, its send-path guards
                # (FOR KEY SHARE) do not: only the fence can stop the modems.
                await conn.execute(
                    select(gateway_hosts.c.host)
                    .where(gateway_hosts.c.host == HOST)
                    .with_for_update(key_share=True)
                )

                async def fenced() -> bool:
                    return not f.gateway.fence.is_open()

                await eventually(fenced, timeout=10, what="the fence closed")
                closed_at = time.time()
                await eventually(
                    lambda: _not(lease_alive(f.db)), timeout=10, what="the lease run out"
                )
                # Written before the fence closed may still be on its way (30 ms latency).
                assert written_after(f, closed_at + 0.5) == []
                sent_while_stalled = len(f.network.ledger)
            await eventually(lambda: _renewed(f), timeout=10, what="the fence open again")
        finally:
            await holder.close()
        audit = await settle(f, timeout=90, still_sent=400)
        audit.assert_clean()
        assert audit.messages == 400 and audit.unknown_parts == 0
        assert len(f.network.ledger) > sent_while_stalled
        assert f.gateway.fence.epoch == 1  # not taken over: the same epoch goes on


async def test_a_host_taken_over_rejoins_at_a_new_epoch(pg_url: str, tmp_path: Path) -> None:
    async with flow(pg_url, tmp_path, modems=2, latency_ms=30, lease=LEASE) as f:
        ids = await f.send(*traffic("rejoin", 200, long_every=0))
        await eventually(lambda: _at_least(f, 20), timeout=30, what="20 parts on the ledger")

        async def take_it_over() -> Takeover | None:
            """Another host takes this one's work over as if its lease had run out (tried
            again while a transaction of the running host holds its lease row)."""
            async with f.db.begin() as conn:
                await conn.execute(
                    update(gateway_hosts)
                    .where(gateway_hosts.c.host == HOST)
                    .values(expires_at=await database_time(conn) - timedelta(seconds=1))
                )
                found = await dead_hosts(conn, me="elsewhere")
                if not found:
                    return None
                return await take_over(conn, found[0], by="elsewhere", policy="wait", now=utc_now())

        taken = await eventually(take_it_over, timeout=10, what="the takeover")
        taken_at = time.time()

        async def rejoined() -> bool:
            return f.gateway.fence.epoch == 2 and f.gateway.fence.is_open()

        await eventually(rejoined, timeout=15, what="the host back at epoch 2")
        audit = await settle(f, timeout=90, still_sent=200)
        audit.assert_clean()
        assert audit.messages == len(ids)
        # What was in its hands at the takeover became unknown and was never sent again (its
        # reports may have settled it since); the rest was sent after the rejoin.
        assert taken.unknown_parts >= 1
        assert audit.unknown_parts <= taken.unknown_parts
        assert audit.duplicated == []
        assert len(written_after(f, taken_at)) > 0


def _at_least(f: Flow, count: int) -> object:
    async def check() -> bool:
        return len(f.network.ledger) >= count

    return check()


async def _not(check: object) -> bool:
    return not await check  # type: ignore[misc]


async def _renewed(f: Flow) -> bool:
    return f.gateway.fence.is_open()
