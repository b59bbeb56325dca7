"""kill -9 of gatewayd at random moments of a 2,000-message run on four modems, five times.

After each kill gatewayd is started again; at the end every message is delivered, sent, or
visibly ``unknown`` / failed, and the ledger shows each part once (``unknown`` at most once).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from gatewayd.queue import NewMessage
from gatewayd.store import Database
from tests.faults.conftest import report_figures
from tests.peers.helpers import Simulator, wait_until, wait_until_async
from tests.support.audit import audit_database
from tests.support.daemons import enqueue_many, external_number, gateway_config, gateway_process

MESSAGES = 2000
KILLS = 5


async def wait_for_ledger(simulator: Simulator, count: int, output: Callable[[], str]) -> None:
    def reached() -> bool:
        return len(simulator.ledger()) >= count

    await wait_until(reached, timeout=120, what=f"{count} parts on the ledger",
                     diagnostics=output)  # fmt: skip


async def test_kill9_five_times_during_2000_messages(
    pg_url: str, four_modems: Simulator, tmp_path: Path
) -> None:
    seed = random.randrange(1 << 30)
    chance = random.Random(seed)
    db = Database(pg_url)
    config = gateway_config(tmp_path / "gatewayd.toml", four_modems.modems, poll_interval=0.2)
    daemon = gateway_process(config, tmp_path, {"SMSGW_DATABASE_URL": pg_url})
    try:
        news = [NewMessage(external_number(i), f"kill-{i}") for i in range(MESSAGES)]
        ids = await enqueue_many(db, news)
        await daemon.start()
        thresholds = sorted(chance.sample(range(100, MESSAGES - 100), KILLS))
        for threshold in thresholds:
            await wait_for_ledger(four_modems, threshold, daemon.output)
            await daemon.kill9()
            await daemon.start()

        async def settled() -> bool:
            found = await audit_database(db, four_modems.ledger())
            return not found.unsettled

        await wait_until_async(settled, timeout=180, what="every message settled",
                               diagnostics=daemon.output)  # fmt: skip
        audit = await audit_database(db, four_modems.ledger())
        report_figures("kill9", {"seed": seed, "kills": daemon.kills, **audit.figures()})
        audit.assert_clean()
        assert audit.messages == len(ids) == MESSAGES
        assert daemon.kills == KILLS
        # Per kill and modem: the part on the wire, and the next one already prepared.
        assert audit.unknown_parts <= KILLS * len(four_modems.modems) * 2
    finally:
        await daemon.stop()
        await db.close()
