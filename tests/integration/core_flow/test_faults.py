"""Modem faults under traffic: a modem unplugged mid-run, junk on the line, a modem that stops
answering. Nothing is sent twice (by the simulator's ledger) outside parts shown ``unknown``."""

from __future__ import annotations

from pathlib import Path

from gatewayd.events import EVENTS, ModemState
from gatewayd.queue import NewMessage
from tests.integration.core_flow.harness import Flow, eventually, flow, ledger_counts


def numbered(i: int) -> str:
    return f"+55119876{50000 + i:05d}"


async def check_once_except_unknown(f: Flow, ids: list[int], texts: dict[int, str]) -> int:
    """Every message sent once by the ledger, or unknown and on it at most once; the number
    of unknown messages."""
    counts = ledger_counts(f.network.ledger)
    statuses = await f.statuses(ids)
    unknown = 0
    for message_id in ids:
        message = await f.message(message_id)
        seen = counts[(message.recipient, texts[message_id])]
        if statuses[message_id] == "unknown":
            unknown += 1
            assert seen <= 1, f"message {message_id} unknown but sent {seen} times"
        else:
            assert statuses[message_id] in ("delivered", "sent"), statuses[message_id]
            assert seen == 1, f"message {message_id} sent {seen} times"
    return unknown


async def test_unplugged_modem_hands_its_work_over(db_url: str, tmp_path: Path) -> None:
    """The direct status reports (+CDS) on their way to the modem when it vanishes are lost
    with it, as on a real modem without AT+CNMA: those few messages stay ``sent``."""
    count = 60
    async with flow(db_url, tmp_path, latency_ms=20, report_delay_ms=100) as f:
        ids = await f.send(*(NewMessage(numbered(i), f"d{i}") for i in range(count)))
        texts = {message_id: f"d{i}" for i, message_id in enumerate(ids)}
        await f.network.wait_for_ledger(10, timeout=10)
        f.network.fault(0, "disconnect", seconds=1.5)
        at_unplug = len(f.network.ledger)

        async def settled() -> dict[int, str] | None:
            found = await f.statuses(ids)
            done = all(s in ("delivered", "unknown", "sent") for s in found.values())
            in_doubt = sum(s == "sent" for s in found.values())
            return found if done and in_doubt <= 2 else None

        await eventually(settled, timeout=40, what="every message settled")
        unknown = await check_once_except_unknown(f, ids, texts)
        after = f.network.ledger[at_unplug:]
    assert {e["modem"] for e in after} >= {1}, "the other modem carried on"
    assert unknown <= 1, "only the part on the wire at the unplug can be in doubt"


async def test_garbage_and_a_hang_are_recovered(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, modems=1, start=False) as f:
        events = f.bus.subscribe(EVENTS)
        await f.start(health_interval=0.3)
        first = await f.send(*(NewMessage(numbered(i), f"g{i}") for i in range(5)))
        f.network.fault(0, "garbage", bytes=300)
        second = await f.send(*(NewMessage(numbered(i), f"h{i}") for i in range(5)))
        await f.wait_status(first + second, "delivered", timeout=20)

        f.network.fault(0, "hang", seconds=2.5)

        async def state_seen(wanted: str) -> bool:
            while (event := await events.get(timeout=0.05)) is not None:
                if isinstance(event, ModemState) and event.state == wanted:
                    return True
            return False

        await eventually(lambda: state_seen("error"), timeout=15, what="the hang noticed")
        await eventually(lambda: state_seen("online"), timeout=15, what="the modem back")
        third = await f.send(*(NewMessage(numbered(i), f"i{i}") for i in range(5)))
        await f.wait_status(third, "delivered", timeout=20)
    counts = ledger_counts(f.network.ledger)
    assert set(counts.values()) == {1}
    assert len(counts) == 15
