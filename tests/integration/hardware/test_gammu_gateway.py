"""The whole gateway with `driver = "gammu"` modems (Gammu's AT engine on simulated modems):
queued messages go out once and come back delivered by their status reports, an incoming SMS
reaches the inbox and leaves the SIM."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd.queue import NewMessage
from tests.integration.core_flow.harness import eventually, flow, ledger_counts

pytestmark = pytest.mark.timeout(120)


async def test_gateway_sends_and_receives_through_gammu(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, modems=1, modem_options={"driver": "gammu"}) as f:
        texts = [f"gammu {i}" for i in range(3)]
        ids = await f.send(
            *(NewMessage(f"+55119876500{i:02d}", text) for i, text in enumerate(texts))
        )
        await f.wait_status(ids, "delivered", timeout=60)
        counts = ledger_counts(f.network.ledger)
        assert sorted(counts.values()) == [1, 1, 1]

        f.network.inject_incoming(0, "+5511987654321", "olá gammu")

        async def received() -> list[object] | None:
            rows = await f.inbox()
            return rows if rows else None

        [message] = await eventually(received, timeout=30, what="the SMS in the inbox")
        assert "olá gammu" in str(message)
        modem = f.handles[0].modem

        async def sim_empty() -> bool:
            return all(store.used == 0 for store in modem.storages.values())

        await eventually(sim_empty, timeout=30, what="the SIM emptied")
