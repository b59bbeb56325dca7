"""100 concurrent API clients for 30 seconds while four modems send (loopback only, bounded).

Correctness only: no 5xx, every accepted message sent once by the ledger. The latency
figures (p95) are printed and judged by ``make soak`` / docs/reliability.md, not asserted
here: a timed assertion would fail on a busy machine for reasons that are not bugs.

30 seconds are about 3,000 requests and 450 messages, every client busy all along: the same
concurrency and the same checks as a longer run. Duration is what ``make soak`` tests (memory,
tasks and latency over time); ``SMSGW_LOAD_SECONDS=120`` gives the 2-minute run of the figures
in docs/reliability.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatewayd.store import Database
from tests.faults.conftest import report_figures
from tests.peers.helpers import wait_until_async
from tests.support.audit import audit_database
from tests.support.load import drive_clients, running_stack

SECONDS = float(os.environ.get("SMSGW_LOAD_SECONDS", "30"))
CLIENTS = 100


@pytest.mark.timeout(int(SECONDS) + 300)
async def test_hundred_clients_while_modems_send(pg_url: str, tmp_path: Path) -> None:
    db = Database(pg_url)
    try:
        async with running_stack(
            pg_url, tmp_path, modems=4, latency_ms=10, report_delay_ms=100
        ) as stack:
            figures = await drive_clients(
                stack, clients=CLIENTS, seconds=SECONDS, sends_per_second=15
            )

            async def settled() -> bool:
                audit = await audit_database(db, stack.simulator.ledger())
                return not audit.unsettled

            await wait_until_async(
                settled, timeout=120, what="every message sent", diagnostics=stack.gateway.output
            )
            audit = await audit_database(db, stack.simulator.ledger())
            web_errors = [e for e in stack.web.log_events() if e.get("level") == "error"]
        summary = figures.summary()
        report_figures(
            "load_short", {"clients": CLIENTS, "seconds": SECONDS, **summary, **audit.figures()}
        )
        assert figures.server_errors == 0, summary
        assert not figures.errors, summary
        assert summary["requests"] > CLIENTS
        assert audit.messages == len(figures.sent_ids) > 0
        audit.assert_clean()
        assert not web_errors, web_errors[:3]
    finally:
        await db.close()
