"""`GammuModem` (python-gammu's own AT engine) against simulated modems on ptys: identity,
health, sending with a status report, receiving, USSD, memory usage, and the thread bridge's
guarantees (timeouts, late results dropped)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.modem.gammu_driver import GammuModem
from gatewayd.modem.interface import IncomingPdu
from gatewayd.simulator import ModemHandle, SimNetwork
from gatewayd.sms import Deliver, StatusReport, decode_pdu, encode_submit

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[tuple[SimNetwork, list[ModemHandle]]]:
    network = SimNetwork(report_delay_ms=50)
    handles = await network.start(2, tmp_path / "dev")
    try:
        yield network, handles
    finally:
        await network.close()


@pytest.fixture
async def gammu_modem(
    network: tuple[SimNetwork, list[ModemHandle]],
) -> AsyncIterator[GammuModem]:
    _, handles = network
    modem = GammuModem(handles[0].device, name="g0", poll_interval=0.2)
    await modem.open()
    try:
        await modem.initialise()
        yield modem
    finally:
        await modem.close()


async def test_identity_and_health(
    network: tuple[SimNetwork, list[ModemHandle]], gammu_modem: GammuModem
) -> None:
    _, handles = network
    identity = await gammu_modem.identity()
    assert identity.imei == handles[0].imei
    assert identity.imsi == handles[0].imsi
    assert identity.model == "SimModem GSM"
    health = await gammu_modem.health()
    assert health.signal.dbm == -73
    assert health.registration.state == "home"
    assert health.operator == "SIMNET BR"
    await gammu_modem.probe()


async def test_send_with_report_then_report_arrives(
    network: tuple[SimNetwork, list[ModemHandle]], gammu_modem: GammuModem
) -> None:
    net, handles = network
    reports: asyncio.Queue[IncomingPdu] = asyncio.Queue()

    async def on_report(incoming: IncomingPdu) -> None:
        await reports.put(incoming)
        assert incoming.index is not None
        await gammu_modem.delete_message(incoming.index, incoming.storage)

    gammu_modem.on_status_report(on_report)
    part = encode_submit(handles[1].number, "Olá via gammu", status_report=True)[0]
    mr = await gammu_modem.send_pdu(part.pdu, part.tpdu_length)
    entries = await net.wait_for_ledger(1)
    assert entries[0]["text"] == "Olá via gammu"
    assert entries[0]["status_report"] is True
    assert entries[0]["mr"] == mr
    report = await asyncio.wait_for(reports.get(), 30)
    decoded = decode_pdu(report.pdu)
    assert isinstance(decoded, StatusReport)
    assert decoded.mr == mr
    assert decoded.recipient == handles[1].number
    assert decoded.state == "delivered"
    assert await gammu_modem.list_messages() == []


async def test_receive_multipart_through_polling(
    network: tuple[SimNetwork, list[ModemHandle]], gammu_modem: GammuModem
) -> None:
    net, _ = network
    received: asyncio.Queue[IncomingPdu] = asyncio.Queue()

    async def on_message(incoming: IncomingPdu) -> None:
        assert incoming.index is not None
        await gammu_modem.delete_message(incoming.index, incoming.storage)
        await received.put(incoming)

    gammu_modem.on_message(on_message)
    parts = net.inject_incoming(0, "+5511987654321", "parte " * 40)
    assert parts == 2
    texts = []
    for _ in range(parts):
        decoded = decode_pdu((await asyncio.wait_for(received.get(), 30)).pdu)
        assert isinstance(decoded, Deliver)
        assert decoded.sender == "+5511987654321"
        assert decoded.concat is not None
        texts.append((decoded.concat.seq, decoded.text))
    assert "".join(text or "" for _, text in sorted(texts)) == "parte " * 40
    usage = await gammu_modem.storage_usage()
    assert usage[0].storage == "SM" and usage[0].used == 0


async def test_ussd_answer(gammu_modem: GammuModem) -> None:
    reply = await gammu_modem.ussd("*100#", timeout=10)
    assert reply.status == 0
    assert reply.text is not None and reply.text.startswith("Saldo")


async def test_hung_modem_times_out_and_the_machine_is_suspect(
    network: tuple[SimNetwork, list[ModemHandle]], gammu_modem: GammuModem
) -> None:
    net, _ = network
    gammu_modem.call_timeout = 0.5
    net.fault(0, "hang", seconds=3)
    with pytest.raises(Exception) as raised:
        await gammu_modem.health()
    assert "suspect" in str(raised.value) or "within" in str(raised.value)
    with pytest.raises(Exception, match="suspect"):
        await gammu_modem.probe()


async def test_initialise_after_a_timeout_builds_a_new_state_machine(
    network: tuple[SimNetwork, list[ModemHandle]], gammu_modem: GammuModem
) -> None:
    net, handles = network
    gammu_modem.call_timeout = 0.5
    net.fault(0, "hang", seconds=1.5)
    with pytest.raises(Exception, match="within"):
        await gammu_modem.identity()
    await asyncio.wait_for(handles[0].modem.hang_over.wait(), 10)
    gammu_modem.call_timeout = 30
    await gammu_modem.initialise()
    assert (await gammu_modem.identity()).imei == handles[0].imei
