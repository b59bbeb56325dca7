"""kill -9 of gatewayd at random moments of a run on four modems, restarted after each kill.

At the end every message is delivered, sent, or visibly ``unknown`` / failed, and the ledger
shows each part once (``unknown`` at most once). Parts left ``unknown`` by a kill are settled
by their status reports when those can be had: with modems that keep reports arriving while
gatewayd is down (stored, ``+CDSI``), every part that reached the network ends with its
verdict, no message stays ``sent``, and at most one part per modem per kill (prepared, never
written) stays ``unknown``. With modems that only forward reports (``+CDS``), the reports that
arrive around a kill are lost: those messages stay ``sent``, and the part on the wire at the
kill stays ``unknown`` (one per modem per kill: nothing is prepared ahead on such modems).
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from gatewayd.queue import NewMessage
from gatewayd.store import Database
from gatewayd.store import messages as messages_table
from tests.faults.conftest import report_figures
from tests.peers.helpers import Simulator, start_simulator, wait_until, wait_until_async
from tests.support.audit import Audit, audit_database
from tests.support.daemons import enqueue_many, external_number, gateway_config, gateway_process

STORING_PROFILES = "sim7600,ec25,e3372,mc7455"
"""Modems whose reports wait in storage (SR, or ME for the EC25) while gatewayd is away."""
LOST_REPORT_WINDOW = 10.0
"""Seconds before a kill in which a direct report may be lost: it is sent 50 ms after the
part's answer, and may then wait up to 5 s in gatewayd for the part's record (REPORT_WAIT)."""


async def wait_for_ledger(simulator: Simulator, count: int, output: Callable[[], str]) -> None:
    def reached() -> bool:
        return len(simulator.ledger()) >= count

    await wait_until(reached, timeout=120, what=f"{count} parts on the ledger", diagnostics=output)


@pytest.fixture
async def four_storing_modems(tmp_path: Path) -> AsyncIterator[Simulator]:
    """Like ``four_modems``, with dialects that store status reports (``+CDSI``)."""
    running = await start_simulator(
        tmp_path / "simulator", modems=4, latency_ms=5, report_delay_ms=50, profile=STORING_PROFILES
    )
    try:
        yield running
    finally:
        await running.process.stop()


@dataclass
class KillRun:
    audit: Audit
    killed_at: list[float]
    """When each kill came (epoch seconds)."""
    left_sent: list[tuple[str, str]] = field(default_factory=list)
    """(recipient, text) of the messages still ``sent`` at the end."""


async def kill_and_settle(
    pg_url: str,
    simulator: Simulator,
    tmp_path: Path,
    *,
    messages: int,
    kills: int,
    bound: int,
    reports_kept: bool,
) -> KillRun:
    """Queue ``messages``, kill gatewayd ``kills`` times at random ledger counts, restart it
    each time; wait until every message is settled, the reports are in (no ``sent`` left, when
    the modems keep them) and at most ``bound`` parts stay ``unknown``."""
    seed = random.randrange(1 << 30)
    chance = random.Random(seed)
    db = Database(pg_url)
    config = gateway_config(tmp_path / "gatewayd.toml", simulator.modems, poll_interval=0.2)
    daemon = gateway_process(config, tmp_path, {"SMSGW_DATABASE_URL": pg_url})
    killed_at: list[float] = []
    try:
        news = [NewMessage(external_number(i), f"kill-{i}") for i in range(messages)]
        ids = await enqueue_many(db, news)
        assert len(ids) == messages
        await daemon.start()
        for threshold in sorted(chance.sample(range(100, messages - 100), kills)):
            await wait_for_ledger(simulator, threshold, daemon.output)
            killed_at.append(time.time())
            await daemon.kill9()
            await daemon.start()

        async def settled() -> bool:
            found = await audit_database(db, simulator.ledger())
            reports_in = not found.sent_with_report or not reports_kept
            return not found.unsettled and reports_in and found.unknown_parts <= bound

        try:
            await wait_until_async(
                settled, timeout=180, what="every message settled", diagnostics=daemon.output
            )
        finally:
            audit = await audit_database(db, simulator.ledger())
            report_figures(
                "kill9" if reports_kept else "kill9_direct_reports",
                {"seed": seed, "kills": daemon.kills, **audit.figures()},
            )
        assert daemon.kills == kills
        async with db.read() as conn:
            table = messages_table
            rows = await conn.execute(
                select(table.c.recipient, table.c.text).where(table.c.status == "sent")
            )
            left_sent = [(row.recipient, row.text) for row in rows]
        return KillRun(audit, killed_at, left_sent)
    finally:
        await daemon.stop()
        await db.close()


async def test_kill9_five_times_during_2000_messages(
    pg_url: str, four_storing_modems: Simulator, tmp_path: Path
) -> None:
    kills, modems = 5, len(four_storing_modems.modems)
    run = await kill_and_settle(
        pg_url,
        four_storing_modems,
        tmp_path,
        messages=2000,
        kills=kills,
        bound=kills * modems,
        reports_kept=True,
    )
    audit = run.audit
    audit.assert_clean()
    assert audit.messages == 2000
    # Per kill and modem, at most the part prepared ahead and never written stays unknown;
    # every part that reached the network was settled by its report.
    assert audit.unknown_parts <= kills * modems
    assert audit.unknown_parts_sent == 0, audit.figures()
    assert audit.sent_with_report == [], audit.figures()


async def test_kill9_with_direct_reports_only(
    pg_url: str, four_modems: Simulator, tmp_path: Path
) -> None:
    kills, modems = 3, len(four_modems.modems)
    run = await kill_and_settle(
        pg_url,
        four_modems,
        tmp_path,
        messages=1000,
        kills=kills,
        bound=kills * modems,
        reports_kept=False,
    )
    audit = run.audit
    audit.assert_clean()
    assert audit.messages == 1000
    # One part per modem per kill: the one on the wire (its report, if any, came while
    # gatewayd was down); nothing was prepared ahead of it.
    assert audit.unknown_parts <= kills * modems
    # The messages left sent are those whose reports came while gatewayd was down.
    accepted = {
        (e["to"], e["text"]): datetime.fromisoformat(e["at"]).timestamp()
        for e in four_modems.ledger()
    }
    far_from_a_kill = [
        key
        for key in run.left_sent
        if not any(kill - LOST_REPORT_WINDOW <= accepted[key] <= kill for kill in run.killed_at)
    ]
    assert len(run.left_sent) == len(audit.sent_with_report)
    assert far_from_a_kill == [], (far_from_a_kill, run.killed_at)
