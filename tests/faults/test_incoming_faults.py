"""Incoming messages under faults: gatewayd killed between reading an SMS from the modem and
committing it; a multipart message whose last part never comes; SIM storage full.

The kill is made deterministic by holding an exclusive lock on ``incoming_messages`` from
another session: gatewayd reads the SMS (``AT+CMGR``), its insert blocks (seen in
``pg_stat_activity``), and it is killed right there. After the restart the SMS, still on the
SIM, is stored exactly once and the SIM is emptied.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from gatewayd.simulator.state import IncomingPart
from gatewayd.sms import encode_deliver
from gatewayd.store import Database, incoming_fragments, utc_now
from tests.faults.conftest import report_figures
from tests.integration.core_flow.harness import eventually, flow
from tests.peers.helpers import Simulator, wait_until_async
from tests.support.daemons import gateway_config, gateway_process

SENDER = "+5511976543210"


async def blocked_insert(conn: asyncpg.Connection) -> bool:
    rows = await conn.fetch(
        "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND query ILIKE '%incoming_messages%'"
    )
    return bool(rows)


async def sim_storage(simulator: Simulator, index: int) -> dict[str, int]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{simulator.control_url}/modems") as answer,
    ):
        state = await answer.json()
    storage: dict[str, int] = state[index]["storage"]
    return storage


async def test_kill9_between_reading_and_committing(
    pg_url: str, four_modems: Simulator, tmp_path: Path
) -> None:
    config = gateway_config(tmp_path / "gatewayd.toml", four_modems.modems[:1])
    daemon = gateway_process(config, tmp_path, {"SMSGW_DATABASE_URL": pg_url})
    db = Database(pg_url)
    blocker = await asyncpg.connect(pg_url.replace("postgresql://", "postgres://"))
    watcher = await asyncpg.connect(pg_url.replace("postgresql://", "postgres://"))
    try:
        await daemon.start()
        await daemon.wait_log("Modem online", timeout=30)
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute("LOCK TABLE incoming_messages IN ACCESS EXCLUSIVE MODE")
        await four_modems.inject_incoming(0, SENDER, "read but not yet committed")

        async def insert_waits() -> bool:
            return await blocked_insert(watcher)

        await wait_until_async(
            insert_waits, timeout=30, what="gatewayd's insert blocked", diagnostics=daemon.output
        )
        on_sim = await sim_storage(four_modems, 0)
        await daemon.kill9()
        await lock.rollback()
        assert sum(on_sim.values()) == 1, f"the SMS is still on the SIM: {on_sim}"
        await daemon.start()

        async def stored() -> list[asyncpg.Record] | None:
            rows = await watcher.fetch("SELECT text FROM incoming_messages")
            empty = sum((await sim_storage(four_modems, 0)).values()) == 0
            return rows if rows and empty else None

        rows = await wait_until_async(
            stored, timeout=30, what="the SMS stored, SIM emptied", diagnostics=daemon.output
        )
        report_figures("incoming_kill9", {"stored": len(rows), "kills": daemon.kills})
        assert [r["text"] for r in rows] == ["read but not yet committed"]
    finally:
        await blocker.close()
        await watcher.close()
        await daemon.stop()
        await db.close()


@pytest.fixture
def db_url(pg_url: str) -> str:
    return pg_url


async def test_multipart_with_a_missing_last_part_is_stored_with_the_gap(
    db_url: str, tmp_path: Path
) -> None:
    async with flow(db_url, tmp_path, modems=1) as f:
        text = "first part of three, " * 8 + "second part, " * 12 + "the lost end"
        parts = encode_deliver(SENDER, text, scts=utc_now().replace(microsecond=0), concat_ref=77)
        assert len(parts) == 3
        modem = f.handles[0].modem
        for part in parts[:-1]:
            assert modem.receive(IncomingPart("deliver", part.pdu, part.tpdu_length))

        async def fragments_kept() -> bool:
            return await f.count(incoming_fragments) == 2

        await eventually(fragments_kept, timeout=20, what="two fragments stored")
        await f.gateway.sweep(timedelta(hours=1))
        assert await f.inbox() == [], "kept while the reassembly timeout runs"
        await f.gateway.sweep(timedelta(seconds=0))
        [message] = await f.inbox()
        assert await f.count(incoming_fragments) == 0
    assert message.text.endswith("[part 3 of 3 missing] ")
    assert message.text.startswith("first part of three, ")
    assert message.concat_total == 3


async def test_sim_storage_full_for_incoming(db_url: str, tmp_path: Path) -> None:
    """More SMS than the SIM holds wait in the network until the gateway frees storage; the
    ones that arrive (+CMTI in another memory) while the sweep deletes are read at once and
    none is deleted unread (regression: memories switched under the sweep)."""
    count = 45
    async with flow(db_url, tmp_path, modems=1, start=False) as f:
        modem = f.handles[0].modem
        for i in range(count):
            f.network.inject_incoming(0, SENDER, f"incoming {i}")
        held = sum(store.used for store in modem.storages.values())
        assert held < count, "the SIM filled up"
        await f.start()

        async def all_in() -> list[object] | None:
            inbox = await f.inbox()
            left = sum(store.used for store in modem.storages.values())
            return inbox if len(inbox) >= count and left == 0 else None

        inbox = await eventually(all_in, timeout=60, what=f"{count} stored, SIM emptied")
        report_figures(
            "sim_storage_full", {"injected": count, "sim_capacity_used": held, "stored": len(inbox)}
        )
    texts = sorted(getattr(m, "text") for m in inbox)  # noqa: B009
    assert texts == sorted(f"incoming {i}" for i in range(count))
