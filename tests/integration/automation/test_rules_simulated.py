"""Rules on SMS that reach a simulated modem: the daemon stores the message, the rules'
runner answers it once, and the daemon sends the answer; on PostgreSQL and SQLite."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, select

from gatewayd.simulator.state import IncomingPart
from gatewayd.sms import encode_deliver
from gatewayd.store import Database, messages, rules, utc_now
from tests.integration.core_flow.harness import eventually, flow
from webui.services.rule_runner import RuleCache, run_rules

SENDER = "+5511912345678"


async def test_keyword_reply_sent_through_the_simulator(db_url: str, tmp_path: Path) -> None:
    cache = RuleCache()
    async with flow(db_url, tmp_path, modems=1) as f:
        db = Database(db_url)
        try:
            async with db.begin() as conn:
                await run_rules(conn, utc_now(), commit_lag=0, region=None, cache=cache)
                now = utc_now()
                await conn.execute(
                    insert(rules).values(
                        name="hours",
                        position=1,
                        match={"keyword": "horario"},
                        actions=[{"type": "reply", "text": "Open 8-18, {from}"}],
                        created_at=now,
                        updated_at=now,
                    )
                )
            [part] = encode_deliver(SENDER, "Horário?", scts=utc_now().replace(microsecond=0))
            f.handles[0].modem.receive(IncomingPart("deliver", part.pdu, part.tpdu_length))

            async def evaluated() -> bool:
                async with db.begin() as conn:
                    done, _ = await run_rules(
                        conn, utc_now(), commit_lag=0, region=None, cache=cache
                    )
                return done == 1

            await eventually(evaluated, timeout=30, what="the rule evaluated")
            async with db.read() as conn:
                [row] = (await conn.execute(select(messages.c.id, messages.c.text))).all()
            assert row.text == f"Open 8-18, {SENDER}"
            await f.wait_status([row.id], {"sent", "delivered"})
            async with db.begin() as conn:
                done, _ = await run_rules(conn, utc_now(), commit_lag=0, region=None, cache=cache)
            assert done == 0
        finally:
            await db.close()
