"""The AT driver against every simulated modem dialect: initialise (the driver picks CNMI and
CPMS from what each modem offers), identity (each vendor's ICCID command), send with a status
report, receive, and the report, with vendor noise and boot codes on the line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.modem.at_driver import AtModem
from gatewayd.modem.interface import IncomingPdu
from gatewayd.simulator import ModemHandle, SimNetwork
from gatewayd.simulator.profiles import PROFILES, ModemProfile
from gatewayd.sms import Deliver, StatusReport, decode_pdu, encode_submit

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=sorted(PROFILES))
def profile(request: pytest.FixtureRequest) -> ModemProfile:
    return PROFILES[request.param]


@pytest.fixture
async def network(
    tmp_path: Path, profile: ModemProfile
) -> AsyncIterator[tuple[SimNetwork, list[ModemHandle]]]:
    network = SimNetwork(report_delay_ms=20, profile=profile)
    handles = await network.start(2, tmp_path / "dev")
    try:
        yield network, handles
    finally:
        await network.close()


@pytest.mark.parametrize("prefer_direct", [True, False], ids=["direct", "stored"])
async def test_init_send_receive_report(
    network: tuple[SimNetwork, list[ModemHandle]], profile: ModemProfile, prefer_direct: bool
) -> None:
    net, handles = network
    handles[0].modem.noise_enabled = True  # vendor noise on, whatever the power-on default
    messages: asyncio.Queue[IncomingPdu] = asyncio.Queue()
    reports: asyncio.Queue[IncomingPdu] = asyncio.Queue()
    async with AtModem(handles[0].device, name=profile.name, prefer_direct=prefer_direct) as modem:

        async def keep(queue: asyncio.Queue[IncomingPdu], incoming: IncomingPdu) -> None:
            await queue.put(incoming)
            if incoming.index is not None:
                await modem.delete_message(incoming.index, incoming.storage)

        modem.on_message(lambda incoming: keep(messages, incoming))
        modem.on_status_report(lambda incoming: keep(reports, incoming))
        settings = await modem.initialise()
        assert settings.indication is not None
        assert settings.messages == ("direct" if prefer_direct else "stored")

        identity = await modem.identity()
        assert identity.manufacturer == profile.manufacturer
        assert identity.model == profile.model
        assert identity.imei == handles[0].imei
        assert identity.iccid == handles[0].modem.identity.iccid

        part = encode_submit(handles[1].number, f"via {profile.name}", status_report=True)[0]
        mr = await modem.send_pdu(part.pdu, part.tpdu_length)
        assert (await net.wait_for_ledger(1))[0]["text"] == f"via {profile.name}"
        report = decode_pdu((await asyncio.wait_for(reports.get(), 10)).pdu)
        assert isinstance(report, StatusReport) and report.mr == mr

        net.inject_incoming(0, "+5511987654321", f"to {profile.name}")
        incoming = await asyncio.wait_for(messages.get(), 10)
        delivered = decode_pdu(incoming.pdu)
        assert isinstance(delivered, Deliver) and delivered.text == f"to {profile.name}"
        assert (incoming.index is None) is prefer_direct
        health = await modem.health()
        assert health.registration.state == "home"
        assert await modem.storage_usage()


async def test_boot_codes_after_a_restart_do_not_confuse_the_driver(
    network: tuple[SimNetwork, list[ModemHandle]], profile: ModemProfile
) -> None:
    _, handles = network
    async with AtModem(handles[0].device, name=profile.name) as modem:
        await modem.initialise()
        await modem.restart()
        await modem.probe()
        settings = await modem.initialise()
        assert settings.indication is not None
        assert (await modem.identity()).imei == handles[0].imei


async def test_vendor_switches_silence_and_enable_the_noise(tmp_path: Path) -> None:
    network = SimNetwork(profile=["e3372", "ec25"])
    huawei, quectel = (handle.modem for handle in await network.start(2, tmp_path / "dev"))
    try:
        assert huawei.noise_enabled and not quectel.noise_enabled
        output: list[bytes] = []
        huawei.attach(output.append)
        quectel.attach(output.append)
        huawei.feed(b"AT^CURC=0\r")
        quectel.feed(b'AT+QINDCFG="csq",1,0\r')
        assert not huawei.noise_enabled and quectel.noise_enabled
        quectel.feed(b"AT^CURC=0\r")
        assert b"ERROR" in output[-1]
        huawei.feed(b'AT+QINDCFG="csq",1\r')
        assert b"COMMAND NOT SUPPORT" in output[-1]
    finally:
        await network.close()
