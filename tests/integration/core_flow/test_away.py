"""What reaches a modem while gatewayd is stopped is kept there and settled at the next start."""

from __future__ import annotations

from pathlib import Path

from gatewayd.queue import NewMessage
from tests.integration.core_flow.harness import EXTERNAL, eventually, flow


async def test_report_arriving_during_a_clean_stop_is_matched_after_restart(
    db_url: str, tmp_path: Path
) -> None:
    async with flow(db_url, tmp_path, modems=1, latency_ms=10, report_delay_ms=1500) as f:
        [message_id] = await f.send(NewMessage(EXTERNAL, "report while away"))
        await f.wait_status([message_id], "sent", timeout=10)
        await f.stop()
        modem = f.network.modems[0]
        assert list(modem.settings.cnmi)[1:4] == [0, 0, 0], "indications held on stop"

        async def report_stored() -> int:
            return sum(f.network.state()[0]["storage"].values())

        await eventually(report_stored, timeout=10, what="the report stored on the modem")
        assert (await f.statuses([message_id]))[message_id] == "sent"
        await f.start()
        await f.wait_status([message_id], "delivered", timeout=15)

        async def report_left() -> bool:
            return sum(f.network.state()[0]["storage"].values()) == 0

        # The report is deleted from the modem only once its match is committed, so the
        # status can read "delivered" a moment before the sweep.
        await eventually(report_left, timeout=10, what="the report swept off the modem")
