"""Modem faults under traffic, in-process (core-flow harness, real PostgreSQL, simulated modems
on ptys): unplug and return, hang, garbage, temporary and permanent +CMS ERROR, SIM PIN, lost
registration, a report overtaking the +CMGS answer. Each ends with the ledger audit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gatewayd.queue import NewMessage
from gatewayd.simulator.state import IncomingPart
from gatewayd.sms import encode_status_report
from gatewayd.store import utc_now
from tests.faults.conftest import report_figures
from tests.integration.core_flow.harness import eventually, flow
from tests.support.flows import audit_flow, external_number, sent_by, settle, traffic


@pytest.fixture
def db_url(pg_url: str) -> str:
    return pg_url


async def test_unplugged_mid_send_and_back_under_the_same_name(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, latency_ms=10, report_delay_ms=30) as f:
        await f.send(*traffic("unplug", 120))
        await f.network.wait_for_ledger(20, timeout=20)
        f.network.fault(0, "disconnect", seconds=2.0)
        await f.network.wait_for_ledger(60, timeout=30)
        worker = f.gateway.workers["sim0"]

        async def sim0_back() -> bool:
            return worker.state == "online" and worker.modem is not None

        await eventually(sim0_back, timeout=30, what="sim0 online again")
        back_at = len(f.network.ledger)
        await f.send(*traffic("back", 120, start=1000))
        audit = await settle(f, timeout=90, still_sent=4)
        report_figures(
            "modem_unplug",
            {**audit.figures(), "after_return_by_sim0": sent_by(f, 0, after=back_at)},
        )
    audit.assert_clean()
    assert audit.unknown_parts <= 2
    assert sent_by(f, 0, after=back_at) > 0, "the modem is used again once it is back"


async def test_hang_then_reinit(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, latency_ms=10, report_delay_ms=30, start=False) as f:
        await f.start(health_interval=0.5)
        await f.send(*traffic("hang", 150))
        await f.network.wait_for_ledger(20, timeout=20)
        f.network.fault(0, "hang", seconds=4)
        hung_at = len(f.network.ledger)
        await f.network.wait_for_ledger(hung_at + 40, timeout=30)

        async def back_online() -> bool:
            return f.gateway.workers["sim0"].state == "online"

        await eventually(back_online, timeout=60, what="sim0 online after the hang")
        back_at = len(f.network.ledger)
        pinned = [replace(n, modem="sim0") for n in traffic("after-hang", 20, start=1000)]
        await f.send(*pinned)
        audit = await settle(f, timeout=90, still_sent=4)
        report_figures("modem_hang", audit.figures())
    audit.assert_clean()
    assert audit.unknown_parts <= 2
    assert sent_by(f, 0, after=back_at) >= 20, "the hung modem came back into use"


async def test_garbage_bytes_under_traffic(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, latency_ms=10, report_delay_ms=30) as f:
        await f.send(*traffic("junk", 150))
        for burst in range(3):
            await f.network.wait_for_ledger(20 + burst * 30, timeout=20)
            f.network.fault(burst % 2, "garbage", bytes=400)
        audit = await settle(f, timeout=90, still_sent=2)
        report_figures("modem_garbage", audit.figures())
    audit.assert_clean()
    assert audit.unknown_parts <= 3


async def test_temporary_and_permanent_cms_errors(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, latency_ms=10, report_delay_ms=30) as f:
        await f.send(*traffic("cms", 80))
        await f.network.wait_for_ledger(10, timeout=20)
        f.network.fault(0, "cms_error", code=38, count=4)  # network out of order: retry
        await f.network.wait_for_ledger(30, timeout=20)
        f.network.fault(1, "cms_error", code=21, count=2)  # rejected: fail those messages
        audit = await settle(f, timeout=90)
        report_figures("cms_errors", audit.figures())
    audit.assert_clean()
    assert audit.statuses["failed"] == 2, audit.statuses
    assert audit.statuses["delivered"] == 78


async def test_sim_pin_with_the_right_pin_unlocks(db_url: str, tmp_path: Path) -> None:
    async with flow(
        db_url,
        tmp_path,
        latency_ms=10,
        report_delay_ms=30,
        modem_options={"pin": "1234"},
        start=False,
    ) as f:
        await f.start(health_interval=0.5)
        await f.send(*traffic("pin", 100))
        await f.network.wait_for_ledger(20, timeout=20)
        f.network.fault(0, "sim_pin")
        locked_at = len(f.network.ledger)
        await f.send(*traffic("pin-after", 100, start=1000))
        # Bound to sim0, so sim1 cannot take them all while sim0 unlocks on a busy machine.
        await f.send(*[replace(n, modem="sim0") for n in traffic("pin-sim0", 20, start=2000)])
        audit = await settle(f, timeout=90, still_sent=2)
        report_figures("sim_pin_right", audit.figures())
    audit.assert_clean()
    assert sent_by(f, 0, after=locked_at + 5) >= 20, "sim0 unlocked with its PIN and sent again"


async def test_a_sim_asking_for_its_pin_while_the_modem_is_idle_is_unlocked_again(
    db_url: str, tmp_path: Path
) -> None:
    """A SIM that restarts (power dip, reseated) asks for its PIN and the modem leaves the
    network; with nothing to send, only the health poll can notice and enter the PIN."""
    async with flow(
        db_url,
        tmp_path,
        latency_ms=10,
        report_delay_ms=30,
        modem_options={"pin": "1234"},
        start=False,
    ) as f:
        await f.start(health_interval=0.5)
        worker = f.gateway.workers["sim0"]

        async def in_state(state: str) -> bool:
            return worker.state == state

        await eventually(lambda: in_state("online"), timeout=30, what="sim0 online")
        f.network.fault(0, "sim_pin")
        await eventually(lambda: in_state("no_network"), timeout=30, what="sim0 off the network")
        await eventually(lambda: in_state("online"), timeout=30, what="sim0 unlocked again")
        await f.send(*[replace(n, modem="sim0", text=f"idle-pin-{n.to}") for n in traffic("", 10)])
        audit = await settle(f, timeout=60)
    audit.assert_clean()
    assert audit.statuses == {"delivered": 10}
    assert sent_by(f, 0) == 10


@pytest.mark.parametrize("pin", [None, "0000"], ids=["missing", "wrong"])
async def test_sim_pin_missing_or_wrong_moves_the_queue(
    db_url: str, tmp_path: Path, pin: str | None
) -> None:
    async with flow(db_url, tmp_path, latency_ms=10, report_delay_ms=30, start=False) as f:
        f.modems = (replace(f.modems[0], pin=pin), f.modems[1])
        f.network.fault(0, "sim_pin")
        await f.start(health_interval=0.5)
        ids = await f.send(*traffic("nopin", 60))
        audit = await settle(f, timeout=60)
        states = {name: worker.state for name, worker in f.gateway.workers.items()}
        report_figures(
            f"sim_pin_{'wrong' if pin else 'missing'}", {**audit.figures(), "states": states}
        )
    audit.assert_clean()
    assert audit.statuses["delivered"] == len(ids)
    assert sent_by(f, 0) == 0, "the locked modem sent nothing"
    assert states["sim0"] != "online", states


async def test_lost_registration_stops_use_until_back(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, latency_ms=10, report_delay_ms=30, start=False) as f:
        await f.start(health_interval=0.3)
        f.network.fault(0, "no_network")

        async def noticed() -> bool:
            return f.gateway.workers["sim0"].state != "online"

        await eventually(noticed, timeout=15, what="sim0 seen without network")
        await f.send(*traffic("nonet", 60))
        audit = await settle(f, timeout=60, still_sent=0)
        assert sent_by(f, 0) == 0, "no sends through a modem without network"
        f.network.fault(0, "clear")

        async def back() -> bool:
            return f.gateway.workers["sim0"].state == "online"

        await eventually(back, timeout=15, what="sim0 registered again")
        before = len(f.network.ledger)
        await f.send(*traffic("net-back", 80, start=1000))
        audit = await settle(f, timeout=60)
        report_figures("no_network", audit.figures())
    audit.assert_clean()
    assert sent_by(f, 0, after=before) > 0, "sim0 used again once registered"


async def test_report_arrives_before_the_cmgs_answer(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, latency_ms=60, report_delay_ms=0) as f:
        ids = await f.send(*traffic("early", 60))
        await f.wait_status(ids, "delivered", timeout=60)
        audit = await audit_flow(f)
        report_figures("report_before_cmgs", audit.figures())
    audit.assert_clean(allowed_statuses={"delivered"})


async def test_one_message_to_each_side_of_the_network(db_url: str, tmp_path: Path) -> None:
    """A message to the other simulated modem is sent once and received once."""
    async with flow(db_url, tmp_path, latency_ms=10, report_delay_ms=30) as f:
        target = f.handles[1].number
        [message_id] = await f.send(NewMessage(target, "across the network", modem="sim0"))
        await f.wait_status([message_id], "delivered")

        async def received() -> list[object] | None:
            inbox = await f.inbox()
            return inbox or None

        inbox = await eventually(received, timeout=20, what="the message received")
        audit = await audit_flow(f)
    audit.assert_clean()
    assert [getattr(m, "text") for m in inbox] == ["across the network"]  # noqa: B009
    assert external_number(0) != target


CONTROL_TEXTS = [
    "ctrl-z \x1a in the middle",
    "escape \x1b and bell \x07",
    "line\r\nbreaks\rand\nmore",
    "tab\tand form feed\x0c",
    "\x1a",
    "AT+CMGS=5\r> OK\r\nERROR",
    "long with ctrl-z " + "\x1a" * 80 + " end" * 20,
]


async def test_control_characters_and_ctrl_z_sent_in_pdu_mode(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, latency_ms=10, report_delay_ms=30) as f:
        ids = await f.send(
            *(NewMessage(external_number(i), text) for i, text in enumerate(CONTROL_TEXTS))
        )
        await f.wait_status(ids, "delivered", timeout=40)
        audit = await audit_flow(f)
        sent: dict[str, list[dict[str, Any]]] = {}
        for entry in f.network.ledger:
            sent.setdefault(entry["to"], []).append(entry)
    audit.assert_clean(allowed_statuses={"delivered"})
    for i, text in enumerate(CONTROL_TEXTS):
        parts = sorted(sent[external_number(i)], key=lambda e: (e["concat"] or {}).get("seq", 1))
        assert "".join(e["text"] for e in parts) == text, repr(text)


async def test_stray_and_duplicate_reports_under_traffic(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, modems=1, latency_ms=10, report_delay_ms=30) as f:
        first = await f.send(*traffic("dup", 30, long_every=0))
        await f.wait_status(first, "delivered", timeout=30)
        modem = f.handles[0].modem
        now = utc_now().replace(microsecond=0)
        second = await f.send(*traffic("dup-more", 30, start=500, long_every=0))
        for entry in list(f.network.ledger):  # every report again, and strangers
            for recipient, mr in ((entry["to"], entry["mr"]), ("+5511911112222", entry["mr"])):
                report = encode_status_report(recipient, mr, scts=now, discharge_time=now, status=0)
                modem.receive(IncomingPart("report", report.pdu, report.tpdu_length))
        await f.wait_status(first + second, "delivered", timeout=30)
        audit = await audit_flow(f)
        report_figures("stray_and_duplicate_reports", audit.figures())
    audit.assert_clean(allowed_statuses={"delivered"})
    assert audit.messages == 60
