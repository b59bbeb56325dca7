"""The simulated network: identities, ledger, latency, routing and faults."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gatewayd.simulator import FaultError, SimNetwork
from gatewayd.simulator.identity import identity_for, luhn_valid
from gatewayd.sms import encode_submit
from tests.unit.simulator.conftest import Wire


def _submit(wire: Wire, recipient: str = "+5521987654321", text: str = "hi") -> bytes:
    [part] = encode_submit(recipient, text)
    wire.send(f"AT+CMGS={part.tpdu_length}\r")
    return wire.send(part.pdu.encode() + b"\x1a")


def test_identities_are_deterministic_and_valid() -> None:
    first, tenth = identity_for("+5511990000001", 0), identity_for("+5511990000001", 9)
    assert (first.number, tenth.number) == ("+5511990000001", "+5511990000010")
    assert all(luhn_valid(value) for value in (first.imei, tenth.imei, first.iccid))
    assert len(first.imei) == 15 and first.imei != tenth.imei
    assert first.imsi.startswith("724") and len(first.imsi) == 15


async def test_ledger_file_gets_one_json_line_per_part(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    network = SimNetwork(ledger_path=ledger)
    try:
        wire = Wire(network.add_modems(1)[0])
        wire.send("ATE0\r")
        assert _submit(wire) == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
        entries = await network.wait_for_ledger(1, timeout=1)
    finally:
        await network.close()
    [line] = ledger.read_text().splitlines()
    assert json.loads(line) == entries[0]
    assert entries[0]["modem"] == 0 and entries[0]["from"] == "+5511990000001"
    assert (entries[0]["to"], entries[0]["mr"], entries[0]["text"]) == ("+5521987654321", 0, "hi")
    assert entries[0]["concat"] is None and entries[0]["status_report"] is False


async def test_latency_delays_the_answer_and_holds_later_input() -> None:
    network = SimNetwork(latency_ms=30)
    try:
        wire = Wire(network.add_modems(1)[0])
        wire.send("ATE0\r")
        assert _submit(wire) == b""
        assert wire.send("AT\r") == b""  # waits for the send to finish
        seen = await wire.expect(b"\r\nOK\r\n\r\nOK\r\n")
        assert seen == b"\r\n+CMGS: 0\r\n\r\nOK\r\n\r\nOK\r\n"
    finally:
        await network.close()


def test_national_number_reaches_the_simulated_modem(network: SimNetwork) -> None:
    first, second = network.add_modems(2)
    assert network.modem_for_number("11990000002") is second
    assert network.modem_for_number("+5511990000001") is first
    assert network.modem_for_number("+5521987654321") is None


async def test_cms_error_fault_hits_the_next_sends_only(network: SimNetwork) -> None:
    wire = Wire(network.add_modems(1)[0])
    wire.send("ATE0\r")
    network.fault(0, "cms_error", code=38, count=2)
    assert _submit(wire) == b"\r\n+CMS ERROR: 38\r\n"
    assert _submit(wire) == b"\r\n+CMS ERROR: 38\r\n"
    assert _submit(wire) == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
    assert len(network.ledger) == 1


async def test_no_network_fault(network: SimNetwork) -> None:
    wire = Wire(network.add_modems(1)[0])
    wire.send("ATE0\r")
    wire.send("AT+CREG=1\r")
    wire.output.clear()
    network.fault(0, "no_network")
    assert bytes(wire.output) == b"\r\n+CREG: 2\r\n"
    assert wire.send("AT+CREG?\r") == b"\r\n+CREG: 1,2\r\n\r\nOK\r\n"
    assert wire.send("AT+CSQ\r") == b"\r\n+CSQ: 99,99\r\n\r\nOK\r\n"
    assert _submit(wire) == b"\r\n+CMS ERROR: 331\r\n"
    network.fault(0, "clear")
    assert wire.send("AT+CREG?\r") == b"\r\n+CREG: 1,1\r\n\r\nOK\r\n"


async def test_sim_pin_fault_and_unlock(network: SimNetwork) -> None:
    wire = Wire(network.add_modems(1)[0])
    wire.send("ATE0\r")
    wire.send("AT+CMEE=1\r")
    network.fault(0, "sim_pin")
    assert wire.send("AT+CPIN?\r") == b"\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"
    assert wire.send("AT+CIMI\r") == b"\r\n+CME ERROR: 11\r\n"
    assert wire.send("AT+CMGS=20\r") == b"\r\n+CMS ERROR: 311\r\n"
    assert wire.send("AT+CMGL=4\r") == b"\r\n+CMS ERROR: 311\r\n"
    assert wire.send('AT+CPIN="0000"\r') == b"\r\n+CME ERROR: 16\r\n"
    assert wire.send('AT+CPIN="1234"\r') == b"\r\nOK\r\n"
    assert wire.send("AT+CPIN?\r") == b"\r\n+CPIN: READY\r\n\r\nOK\r\n"


async def test_hang_fault_answers_nothing_then_recovers(network: SimNetwork) -> None:
    wire = Wire(network.add_modems(1)[0])
    wire.send("ATE0\r")
    network.fault(0, "hang", seconds=0.05)
    assert wire.send("AT\r") == b""
    await asyncio.wait_for(wire.modem.hang_over.wait(), timeout=2)
    assert wire.send("AT\r") == b"\r\nOK\r\n"


async def test_garbage_fault_writes_junk_without_result_codes(network: SimNetwork) -> None:
    wire = Wire(network.add_modems(1)[0])
    network.fault(0, "garbage", bytes=500)
    assert len(wire.output) == 500
    assert b"OK" not in wire.output and b"ERROR" not in wire.output and b">" not in wire.output


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("melt", {}),
        ("cms_error", {}),
        ("cms_error", {"code": "38"}),
        ("hang", {"seconds": -1}),
        ("garbage", {"bytes": 0}),
        ("hang", {"seconds": True}),
    ],
)
def test_bad_fault_requests_are_refused(
    network: SimNetwork, kind: str, params: dict[str, object]
) -> None:
    network.add_modems(1)
    with pytest.raises(FaultError):
        network.fault(0, kind, **params)
