"""Incoming SMS through the gateway core: reassembly across a gateway restart, duplicates kept
once, messages between simulated modems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatewayd.queue import NewMessage
from gatewayd.simulator.state import IncomingPart
from gatewayd.sms import encode_deliver
from gatewayd.store import incoming_fragments, utc_now
from tests.integration.core_flow.harness import Flow, eventually, flow

SENDER = "+5511912345678"


async def fragments_reach(f: Flow, count: int) -> None:
    async def there() -> bool:
        return await f.count(incoming_fragments) == count

    await eventually(there, timeout=10, what=f"{count} stored fragments")


async def test_multipart_reassembled_across_a_restart(db_url: str, tmp_path: Path) -> None:
    text = "".join(f"<{i:03d}>" for i in range(80))  # 400 characters: 3 parts
    parts = encode_deliver(SENDER, text, scts=utc_now().replace(microsecond=0), concat_ref=77)
    assert len(parts) == 3
    delivered = [IncomingPart("deliver", p.pdu, p.tpdu_length) for p in parts]
    async with flow(db_url, tmp_path, modems=1) as f:
        modem = f.handles[0].modem
        assert modem.receive(delivered[0])
        await fragments_reach(f, 1)
        await f.stop()
        assert modem.receive(delivered[1])  # arrives while gatewayd is down: kept on the SIM
        await f.start()
        await fragments_reach(f, 2)
        assert modem.receive(delivered[2])

        async def inbox_has_one() -> list[Any] | None:
            rows = await f.inbox()
            return rows if rows else None

        [received] = await eventually(inbox_has_one, timeout=10, what="the reassembled SMS")
        await fragments_reach(f, 0)

        async def sim_storage_empty() -> bool:
            return all(store.used == 0 for store in modem.storages.values())

        await eventually(sim_storage_empty, timeout=5, what="the SIM emptied")
        assert len(await f.inbox()) == 1
    assert received.text == text
    assert received.sender == SENDER
    assert received.concat_total == 3
    assert received.modem == "sim0"


async def test_same_sms_read_twice_is_kept_once(db_url: str, tmp_path: Path) -> None:
    [part] = encode_deliver(SENDER, "only once", scts=utc_now().replace(microsecond=0))
    async with flow(db_url, tmp_path, modems=1) as f:
        modem = f.handles[0].modem
        modem.receive(IncomingPart("deliver", part.pdu, part.tpdu_length))
        modem.receive(IncomingPart("deliver", part.pdu, part.tpdu_length))

        async def both_read() -> bool:
            return modem.storages["SM"].used == 0 and len(await f.inbox()) >= 1

        await eventually(both_read, timeout=10, what="both copies read")
        rows = await f.inbox()
    assert [r.text for r in rows] == ["only once"]


async def test_message_between_simulated_modems(db_url: str, tmp_path: Path) -> None:
    text = "from sim0 to sim1 " * 12  # two parts
    async with flow(db_url, tmp_path, modems=2) as f:
        target = f.handles[1].number
        [message_id] = await f.send(NewMessage(target, text, modem="sim0"))
        await f.wait_status([message_id], "delivered")

        async def arrived() -> list[Any] | None:
            rows = await f.inbox()
            return rows if rows else None

        [received] = await eventually(arrived, timeout=10, what="the SMS in the inbox")
    assert received.text == text
    assert received.sender == f.handles[0].number
    assert received.modem == "sim1"
    assert len(f.network.ledger) == 2
