"""`AtModem` against the scripted pty device: init, PIN, identity, health, send, incoming."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gatewayd.modem.at_driver import AtModem
from gatewayd.modem.channel import AtChannel
from gatewayd.modem.errors import (
    AtCommandError,
    ErrorAction,
    ModemDisconnected,
    SendOutcomeUnknown,
    SimError,
)
from gatewayd.modem.interface import IncomingPdu

from .fake_device import FakeDevice, final, ok
from .modem_script import ICCID, IMEI, IMSI, default_reply, standard_answers

DELIVER = "07915892000000F0040B915121551532F400003290220161650003C16010"
REPORT = "0006D60B911326880736F4111011719551401110117195714000"


@pytest.fixture
async def modem(device: FakeDevice) -> AsyncIterator[AtModem]:
    device.answers.update(standard_answers())
    device.handler = default_reply
    channel = AtChannel("driver-test", resync_timeout=0.5, settle_time=0.01)
    driver = AtModem(device.path, name="driver-test", pin="1234", channel=channel)
    await driver.open()
    yield driver
    await driver.close()


class Inbox:
    def __init__(self) -> None:
        self.items: asyncio.Queue[IncomingPdu] = asyncio.Queue()

    def __call__(self, incoming: IncomingPdu) -> None:
        self.items.put_nowait(incoming)

    async def next(self) -> IncomingPdu:
        return await asyncio.wait_for(self.items.get(), 5)


async def test_initialise_chooses_direct_delivery_and_storage(
    device: FakeDevice, modem: AtModem
) -> None:
    settings = await modem.initialise()
    assert settings.indication is not None
    assert settings.indication.command == "AT+CNMI=2,2,0,1,0"
    assert (settings.messages, settings.reports, settings.ack_required) == (
        "direct",
        "direct",
        False,
    )
    assert settings.storages is not None and settings.storages.read == "ME"
    assert device.commands.index("ATE0") < device.commands.index("AT+CMEE=1")
    assert "AT+CMGF=0" in device.commands


async def test_initialise_prefers_stored_when_asked(device: FakeDevice) -> None:
    device.answers.update(standard_answers())
    device.handler = default_reply
    channel = AtChannel("stored", settle_time=0.01)
    async with AtModem(device.path, prefer_direct=False, channel=channel) as modem:
        settings = await modem.initialise()
    assert settings.indication is not None
    assert settings.indication.command == "AT+CNMI=2,1,0,2,0"


async def test_initialise_falls_back_when_cnmi_query_fails(
    device: FakeDevice, modem: AtModem
) -> None:
    device.answers["AT+CNMI=?"] = final("ERROR")
    device.answers["AT+CNMI=2,1,0,2,0"] = final("+CMS ERROR: 303")
    settings = await modem.initialise()
    assert settings.indication is not None
    assert settings.indication.command == "AT+CNMI=2,1,0,1,0"


async def test_pin_is_entered_when_asked(device: FakeDevice, modem: AtModem) -> None:
    states = iter(["SIM PIN", "READY"])
    device.answers.pop("AT+CPIN?")
    device.handler = lambda cmd: (
        ok(f"+CPIN: {next(states)}") if cmd == "AT+CPIN?" else default_reply(cmd)
    )
    device.answers['AT+CPIN="1234"'] = ok()
    await modem.unlock_sim()
    assert 'AT+CPIN="1234"' in device.commands


async def test_wrong_pin_is_a_configuration_error(device: FakeDevice, modem: AtModem) -> None:
    device.answers["AT+CPIN?"] = ok("+CPIN: SIM PIN")
    device.answers['AT+CPIN="1234"'] = final("+CME ERROR: 16")
    with pytest.raises(SimError) as caught:
        await modem.initialise()
    assert caught.value.action is ErrorAction.TRY_OTHER_MODEM
    assert device.commands.count('AT+CPIN="1234"') == 1


async def test_missing_pin_and_puk_are_configuration_errors(device: FakeDevice) -> None:
    device.answers.update(standard_answers())
    device.answers["AT+CPIN?"] = ok("+CPIN: SIM PIN")
    async with AtModem(device.path, channel=AtChannel("nopin", settle_time=0.01)) as modem:
        with pytest.raises(SimError, match="no PIN"):
            await modem.unlock_sim()
        device.answers["AT+CPIN?"] = ok("+CPIN: SIM PUK")
        with pytest.raises(SimError, match="PUK"):
            await modem.unlock_sim()
        device.answers["AT+CPIN?"] = final("+CME ERROR: 10")
        with pytest.raises(SimError):
            await modem.unlock_sim()
    assert not any(cmd.startswith("AT+CPIN=") for cmd in device.commands)


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("AT+CCID", ok(f'+CCID: "{ICCID}"')),
        ("AT+ICCID", ok(f"+ICCID: {ICCID}")),
        ("AT^ICCID?", ok(f"^ICCID: {ICCID}")),
    ],
)
async def test_identity(device: FakeDevice, modem: AtModem, command: str, answer: bytes) -> None:
    for variant in ("AT+CCID", "AT+ICCID", "AT^ICCID?"):
        device.answers[variant] = answer if variant == command else final("ERROR")
    identity = await modem.identity()
    assert (identity.manufacturer, identity.model, identity.revision) == (
        "ACME Wireless",
        "GSM-1000",
        "1.2.3",
    )
    assert (identity.imei, identity.imsi, identity.iccid) == (IMEI, IMSI, ICCID)


async def test_health(device: FakeDevice, modem: AtModem) -> None:
    health = await modem.health()
    assert (health.signal.rssi, health.signal.dbm) == (20, -73)
    assert health.registration.circuit == "roaming"
    assert health.registration.packet == "home"
    assert health.registration.eps is None
    assert health.registration.state == "home"
    assert health.operator == "Vivo"
    device.answers["AT+CSQ"] = ok("+CSQ: 99,99")
    assert (await modem.signal()).dbm is None


async def test_send_pdu_returns_the_message_reference(device: FakeDevice, modem: AtModem) -> None:
    device.prompt_reply = lambda _cmd, _pdu: ok("+CMGS: 42")
    assert await modem.send_pdu("0011000B915121551532F40000AA0548656C6C6F", 19) == 42
    assert device.payloads == ["0011000B915121551532F40000AA0548656C6C6F"]
    assert "AT+CMGS=19" in device.commands


async def test_send_pdu_errors(device: FakeDevice, modem: AtModem) -> None:
    device.prompt_reply = lambda _cmd, _pdu: final("+CMS ERROR: 330")
    with pytest.raises(AtCommandError) as caught:
        await modem.send_pdu("0011AA", 2)
    assert caught.value.action is ErrorAction.TRY_OTHER_MODEM
    device.prompt_reply = lambda _cmd, _pdu: ok()
    with pytest.raises(SendOutcomeUnknown):
        await modem.send_pdu("0011AA", 2)
    with pytest.raises(Exception, match="not a PDU"):
        await modem.send_pdu("XYZ", 2)


async def test_send_hanging_after_the_pdu_is_an_unknown_outcome(device: FakeDevice) -> None:
    device.answers.update(standard_answers())
    device.prompt_reply = lambda _cmd, _pdu: None
    # AT+CMGS's 60 s become 6 s; the other commands keep a tenth of theirs (AT+CSQ 0.2 s), which
    # a loaded machine still answers in time over the pty
    channel = AtChannel("hang", settle_time=0.01, timeout_scale=0.1)
    async with AtModem(device.path, channel=channel) as modem:
        with pytest.raises(SendOutcomeUnknown):
            await modem.send_pdu("0011AA", 2)
        assert device.payloads == ["0011AA"]
        assert (await modem.signal()).rssi == 20


async def test_direct_message_without_ack(device: FakeDevice, modem: AtModem) -> None:
    await modem.initialise()
    inbox = Inbox()
    modem.on_message(inbox)
    device.send(f"\r\n+CMT: ,{len(DELIVER) // 2 - 8}\r\n{DELIVER}\r\n")
    incoming = await inbox.next()
    assert (incoming.kind, incoming.pdu, incoming.direct) == ("message", DELIVER, True)
    await modem.signal()  # anything sent after the delivery is seen by now
    assert "AT+CNMA" not in device.commands


async def test_direct_message_acknowledged_when_service_1(
    device: FakeDevice, modem: AtModem
) -> None:
    device.answers["AT+CSMS?"] = ok("+CSMS: 1,1,1,1")
    await modem.initialise()
    inbox = Inbox()
    modem.on_message(inbox)
    device.send(f"\r\n+CMT: ,{len(DELIVER) // 2 - 8}\r\n{DELIVER}\r\n")
    await inbox.next()
    await device.wait_for_command(lambda cmd: cmd == "AT+CNMA")


async def test_direct_report(device: FakeDevice, modem: AtModem) -> None:
    await modem.initialise()
    reports = Inbox()
    modem.on_status_report(reports)
    device.send(f"\r\n+CDS: {len(REPORT) // 2 - 1}\r\n{REPORT}\r\n")
    incoming = await reports.next()
    assert (incoming.kind, incoming.pdu, incoming.storage) == ("report", REPORT, None)


async def test_stored_message_and_report_are_read(device: FakeDevice, modem: AtModem) -> None:
    await modem.initialise()
    inbox, reports = Inbox(), Inbox()
    modem.on_message(inbox)
    modem.on_status_report(reports)
    device.answers["AT+CMGR=3"] = ok("+CMGR: 0,,24", DELIVER)
    device.send('\r\n+CMTI: "ME",3\r\n')
    message = await inbox.next()
    assert (message.pdu, message.storage, message.index) == (DELIVER, "ME", 3)
    device.answers["AT+CMGR=1"] = ok("+CMGR: 0,,25", REPORT)
    device.send('\r\n+CDSI: "SR",1\r\n')
    report = await reports.next()
    assert (report.pdu, report.storage, report.index) == (REPORT, "SR", 1)
    assert device.commands.index('AT+CPMS="SR"') < device.commands.index("AT+CMGR=1")


async def test_list_and_delete(device: FakeDevice, modem: AtModem) -> None:
    await modem.initialise()
    device.answers["AT+CMGL=4"] = ok("+CMGL: 1,1,,24", DELIVER, "+CMGL: 2,0,,24", DELIVER)
    stored = await modem.list_messages()
    assert [(m.storage, m.index) for m in stored] == [("ME", 1), ("ME", 2)]
    await modem.delete_message(2, "SM")
    assert device.commands[-2:] == ['AT+CPMS="SM"', "AT+CMGD=2"]
    device.answers["AT+CMGR=9"] = final("+CMS ERROR: 321")
    assert await modem.read_message(9) is None


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        ('+CUSD: 0,"Saldo: R$ 10,00",15', "Saldo: R$ 10,00"),
        (f'+CUSD: 0,"{"Oi ação".encode("utf-16-be").hex().upper()}",72', "Oi ação"),
    ],
)
async def test_ussd(device: FakeDevice, modem: AtModem, answer: str, text: str) -> None:
    device.answers['AT+CUSD=1,"*100#",15'] = ok() + f"\r\n{answer}\r\n".encode()
    reply = await modem.ussd("*100#")
    assert (reply.status, reply.text) == (0, text)


async def test_ussd_not_supported(device: FakeDevice, modem: AtModem) -> None:
    device.answers['AT+CUSD=1,"*100#",15'] = f"\r\n+CUSD: 4\r\n{ok().decode()}".encode()
    with pytest.raises(Exception, match="not_supported"):
        await modem.ussd("*100#")


async def test_disconnect_is_reported(device: FakeDevice, modem: AtModem) -> None:
    lost: asyncio.Future[ModemDisconnected] = asyncio.get_running_loop().create_future()

    def record(error: ModemDisconnected) -> None:
        if not lost.done():
            lost.set_result(error)

    modem.on_disconnect(record)
    device.disconnect()
    error = await asyncio.wait_for(lost, 5)
    assert error.action is ErrorAction.REINITIALISE
    with pytest.raises(ModemDisconnected):
        await modem.signal()


async def test_disconnect_after_the_pdu_is_an_unknown_outcome(
    device: FakeDevice, modem: AtModem
) -> None:
    def unplug(_command: str, _pdu: str) -> None:
        device.disconnect()

    device.prompt_reply = unplug
    with pytest.raises(SendOutcomeUnknown):
        await modem.send_pdu("0011AA", 2)
    assert device.payloads == ["0011AA"]


async def test_failed_async_callback_leaves_the_message_unacknowledged(
    device: FakeDevice, modem: AtModem
) -> None:
    device.answers["AT+CSMS?"] = ok("+CSMS: 1,1,1,1")
    await modem.initialise()
    seen: asyncio.Future[IncomingPdu] = asyncio.get_running_loop().create_future()

    async def failing(incoming: IncomingPdu) -> None:
        seen.set_result(incoming)
        raise RuntimeError("database down")

    modem.on_message(failing)
    device.send(f"\r\n+CMT: ,{len(DELIVER) // 2 - 8}\r\n{DELIVER}\r\n")
    assert (await asyncio.wait_for(seen, 5)).pdu == DELIVER
    await modem.signal()  # queued behind anything the delivery task sent
    assert "AT+CNMA" not in device.commands
