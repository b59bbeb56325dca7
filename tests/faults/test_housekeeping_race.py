"""Housekeeping runs beside the workers: a claim committed after housekeeping took its list of
messages in flight, but before its sweep ran, belongs to a live worker. Treating it as
abandoned would turn the part being sent ``unknown`` and put the message back in the queue,
where another modem could send its remaining parts a second time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.bus import InProcessBus
from gatewayd.queue import NewMessage, enqueue, prepare
from gatewayd.service.daemon import Gateway
from gatewayd.store import Database, message_parts, messages, utc_now
from tests.integration.core_flow.harness import make_settings
from tests.support.daemons import external_number
from tests.support.sending import claim, hand_over


async def test_sweep_leaves_a_fresh_claim_of_this_host_alone(pg_url: str, tmp_path: Path) -> None:
    settings = make_settings(pg_url, tmp_path / "data", host="race")
    db = Database(pg_url)
    gateway = Gateway(settings, db, InProcessBus(), modems=())

    async def nothing_to_recover(_conn: AsyncConnection) -> None:
        return None

    try:
        await gateway.lease.start(nothing_to_recover)  # as `gatewayd run` does before sweeping
        async with db.begin() as conn:
            [message_id], _ = await enqueue(
                conn, [prepare(NewMessage(external_number(1), "fresh claim"))], created_by="t"
            )
        async with db.begin() as conn:  # a worker claims it and hands part 1 to its modem
            [claimed] = await claim(conn, host="race", modem="sim0", now=utc_now())
            await hand_over(conn, claimed, 0, modem="sim0", imsi=None, now=utc_now())
        await gateway.sweep(timedelta(hours=1))  # its in-flight list predates the claim
        async with db.read() as conn:
            status = (
                await conn.execute(select(messages.c.status).where(messages.c.id == message_id))
            ).scalar_one()
            part = (
                await conn.execute(
                    select(message_parts.c.status).where(message_parts.c.message_id == message_id)
                )
            ).scalar_one()
        assert (status, part) == ("sending", "sending")
    finally:
        await db.close()
