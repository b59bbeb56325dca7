"""`AtModem` against simulated modems on real ptys: send, receive, report, and each fault."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.modem.at_driver import AtModem
from gatewayd.modem.channel import AtChannel
from gatewayd.modem.errors import (
    AtCommandError,
    AtTimeout,
    ErrorAction,
    ModemDisconnected,
    SimError,
)
from gatewayd.modem.interface import IncomingPdu
from gatewayd.simulator import DEFAULT_PIN, ModemHandle, SimNetwork
from gatewayd.sms import Deliver, StatusReport, decode_pdu, encode_submit

pytestmark = pytest.mark.timeout(60)


class Collector:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[IncomingPdu] = asyncio.Queue()

    def __call__(self, incoming: IncomingPdu) -> None:
        self.queue.put_nowait(incoming)

    async def next(self, timeout: float = 5.0) -> IncomingPdu:
        return await asyncio.wait_for(self.queue.get(), timeout)


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[SimNetwork]:
    net = SimNetwork(report_delay_ms=20)
    yield net
    await net.close()


@pytest.fixture
async def handles(network: SimNetwork, tmp_path: Path) -> list[ModemHandle]:
    return await network.start(2, tmp_path / "dev")


def make_modem(handle: ModemHandle, **options: object) -> AtModem:
    channel = AtChannel(f"sim{handle.index}", resync_timeout=0.4, settle_time=0.01)
    return AtModem(handle.device, channel=channel, **options)  # type: ignore[arg-type]


@pytest.fixture
async def pair(handles: list[ModemHandle]) -> AsyncIterator[tuple[AtModem, AtModem]]:
    first, second = make_modem(handles[0]), make_modem(handles[1])
    await first.open()
    await second.open()
    await first.initialise()
    await second.initialise()
    yield first, second
    await first.close()
    await second.close()


async def send_text(modem: AtModem, to: str, text: str, *, report: bool = True) -> int:
    (part,) = encode_submit(to, text, status_report=report)
    return await modem.send_pdu(part.pdu, part.tpdu_length)


async def test_send_receive_and_report_round_trip(
    network: SimNetwork, handles: list[ModemHandle], pair: tuple[AtModem, AtModem]
) -> None:
    sender, receiver = pair
    assert sender.settings is not None and sender.settings.messages == "direct"
    inbox, reports = Collector(), Collector()
    receiver.on_message(inbox)
    sender.on_status_report(reports)

    reference = await send_text(sender, handles[1].number, "Olá from the driver")

    (entry,) = await network.wait_for_ledger(1)
    assert (entry["mr"], entry["to"], entry["text"]) == (
        reference,
        handles[1].number,
        "Olá from the driver",
    )
    message = decode_pdu((await inbox.next()).pdu)
    assert isinstance(message, Deliver)
    assert (message.sender, message.text) == (handles[0].number, "Olá from the driver")
    report = decode_pdu((await reports.next()).pdu)
    assert isinstance(report, StatusReport)
    assert (report.mr, report.state) == (reference, "delivered")


async def test_stored_delivery_read_and_delete(
    network: SimNetwork, handles: list[ModemHandle]
) -> None:
    async with make_modem(handles[1], prefer_direct=False) as modem:
        settings = await modem.initialise()
        assert settings.messages == "stored"
        inbox = Collector()
        modem.on_message(inbox)
        network.inject_incoming(1, "+5511987654321", "stored hello")
        incoming = await inbox.next()
        assert incoming.storage is not None and incoming.index is not None
        decoded = decode_pdu(incoming.pdu)
        assert isinstance(decoded, Deliver) and decoded.text == "stored hello"
        listed = await modem.list_messages(incoming.storage)
        assert [m.index for m in listed] == [incoming.index]
        await modem.delete_message(incoming.index, incoming.storage)
        assert await modem.list_messages(incoming.storage) == []


async def test_identity_health_and_ussd(
    handles: list[ModemHandle], pair: tuple[AtModem, AtModem]
) -> None:
    modem = pair[0]
    identity = await modem.identity()
    assert (identity.imei, identity.imsi) == (handles[0].imei, handles[0].imsi)
    assert identity.iccid
    health = await modem.health()
    assert health.signal.dbm is not None and -113 <= health.signal.dbm <= -51
    assert health.registration.state == "home"
    assert health.operator
    reply = await modem.ussd("*100#")
    assert reply.text == "Saldo: R$ 12,34. Validade: 31/12/2030."


async def test_cms_error_fault(
    network: SimNetwork, handles: list[ModemHandle], pair: tuple[AtModem, AtModem]
) -> None:
    sender = pair[0]
    network.fault(0, "cms_error", code=38, count=1)
    with pytest.raises(AtCommandError) as caught:
        await send_text(sender, handles[1].number, "first")
    assert (caught.value.code, caught.value.action) == (38, ErrorAction.RETRY_LATER)
    await send_text(sender, handles[1].number, "second")
    assert [entry["text"] for entry in await network.wait_for_ledger(1)] == ["second"]


async def test_no_network_fault_means_another_modem(
    network: SimNetwork, handles: list[ModemHandle], pair: tuple[AtModem, AtModem]
) -> None:
    network.fault(0, "no_network")
    with pytest.raises(AtCommandError) as caught:
        await send_text(pair[0], handles[1].number, "nowhere")
    assert caught.value.action is ErrorAction.TRY_OTHER_MODEM
    assert (await pair[0].registration()).state != "home"


async def test_garbage_fault(
    network: SimNetwork, handles: list[ModemHandle], pair: tuple[AtModem, AtModem]
) -> None:
    sender = pair[0]
    network.fault(0, "garbage", bytes=2000)
    assert (await sender.signal()).dbm is not None
    reference = await send_text(sender, handles[1].number, "after garbage")
    (entry,) = await network.wait_for_ledger(1)
    assert entry["mr"] == reference
    assert sender.channel.garbage_bytes > 0


async def test_hang_fault_times_out_then_recovers(
    network: SimNetwork, pair: tuple[AtModem, AtModem]
) -> None:
    modem = pair[0]
    network.fault(0, "hang", seconds=0.3)
    with pytest.raises(AtTimeout):
        await modem.channel.command("AT+CSQ", timeout=0.1)
    signal = await modem.signal()  # resynchronises first, once the modem answers again
    assert signal.rssi is not None


async def test_disconnect_fault_then_reconnect(
    network: SimNetwork, handles: list[ModemHandle], pair: tuple[AtModem, AtModem]
) -> None:
    modem = pair[0]
    lost: asyncio.Future[ModemDisconnected] = asyncio.get_running_loop().create_future()

    def record(error: ModemDisconnected) -> None:
        if not lost.done():
            lost.set_result(error)

    modem.on_disconnect(record)
    network.fault(0, "disconnect")
    error = await asyncio.wait_for(lost, 5)
    assert error.action is ErrorAction.REINITIALISE
    with pytest.raises(ModemDisconnected):
        await modem.signal()
    network.fault(0, "clear")
    async with make_modem(handles[0]) as again:
        await again.initialise()
        assert (await again.identity()).imei == handles[0].imei


async def test_sim_pin_fault(network: SimNetwork, handles: list[ModemHandle]) -> None:
    network.fault(0, "sim_pin")
    async with make_modem(handles[0]) as without_pin:
        with pytest.raises(SimError) as caught:
            await without_pin.initialise()
        assert caught.value.action is ErrorAction.TRY_OTHER_MODEM
    async with make_modem(handles[0], pin=DEFAULT_PIN) as with_pin:
        settings = await with_pin.initialise()
        assert settings.indication is not None
