"""Sending, storages and unsolicited indications of the simulated modems."""

from __future__ import annotations

from gatewayd.simulator import SimNetwork
from gatewayd.sms import Deliver, StatusReport, decode_pdu, encode_submit
from tests.unit.simulator.conftest import Wire


def _quiet(*wires: Wire) -> None:
    for wire in wires:
        wire.send("ATE0\r")


def _send_pdu(wire: Wire, pdu: str, length: int) -> bytes:
    prompt = wire.send(f"AT+CMGS={length}\r")
    assert prompt == b"\r\n> "
    return wire.send(pdu.encode() + b"\x1a")


def test_prompt_is_exactly_crlf_gt_space_after_the_echo(pair: tuple[Wire, Wire]) -> None:
    sender, _ = pair
    assert sender.send("AT+CMGS=20\r") == b"AT+CMGS=20\r\r\n> "
    assert sender.send(b"\x1b") == b"\r\nOK\r\n"
    assert sender.send("AT\r") == b"AT\r\r\nOK\r\n"


def test_send_answers_the_message_reference(pair: tuple[Wire, Wire]) -> None:
    sender, _ = pair
    _quiet(sender)
    [part] = encode_submit("+5521987654321", "hello")
    assert _send_pdu(sender, part.pdu, part.tpdu_length) == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
    assert _send_pdu(sender, part.pdu, part.tpdu_length) == b"\r\n+CMGS: 1\r\n\r\nOK\r\n"


def test_full_smsc_address_is_not_counted(pair: tuple[Wire, Wire]) -> None:
    sender, _ = pair
    _quiet(sender)
    [part] = encode_submit("+5521987654321", "hello", smsc="+5511999000000")
    assert not part.pdu.startswith("00")
    assert _send_pdu(sender, part.pdu, part.tpdu_length) == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"


def test_wrong_length_is_cms_304_and_nothing_is_sent(
    pair: tuple[Wire, Wire], network: SimNetwork
) -> None:
    sender, _ = pair
    _quiet(sender)
    [part] = encode_submit("+5521987654321", "hello")
    assert _send_pdu(sender, part.pdu, part.tpdu_length + 1) == b"\r\n+CMS ERROR: 304\r\n"
    assert _send_pdu(sender, "00" + "ZZ" * 10, 10) == b"\r\n+CMS ERROR: 304\r\n"
    assert network.ledger == []


def test_echo_on_echoes_the_pdu_but_not_ctrl_z(pair: tuple[Wire, Wire]) -> None:
    sender, _ = pair
    [part] = encode_submit("+5521987654321", "hi")
    sender.send(f"AT+CMGS={part.tpdu_length}\r")
    answer = sender.send(part.pdu.encode() + b"\x1a")
    assert answer == part.pdu.encode() + b"\r\n+CMGS: 0\r\n\r\nOK\r\n"


def test_message_to_another_modem_arrives_as_cmt(pair: tuple[Wire, Wire]) -> None:
    sender, receiver = pair
    _quiet(sender, receiver)
    receiver.send("AT+CNMI=1,2,0,1,0\r")
    [part] = encode_submit("+5511990000002", "olá mundo")
    receiver.output.clear()
    _send_pdu(sender, part.pdu, part.tpdu_length)
    header, pdu, _ = bytes(receiver.output).removeprefix(b"\r\n").split(b"\r\n")
    decoded = decode_pdu(pdu.decode())
    assert isinstance(decoded, Deliver)
    assert header == f"+CMT: ,{decoded.tpdu_length}".encode()
    assert (decoded.sender, decoded.text, decoded.smsc) == (
        "+5511990000001",
        "olá mundo",
        "+5511999000000",
    )


def test_cnmi_mt1_stores_and_indicates_cmti(pair: tuple[Wire, Wire]) -> None:
    sender, receiver = pair
    _quiet(sender, receiver)
    receiver.send("AT+CNMI=2,1,0,1,0\r")
    [part] = encode_submit("+5511990000002", "stored")
    receiver.output.clear()
    _send_pdu(sender, part.pdu, part.tpdu_length)
    assert bytes(receiver.output) == b'\r\n+CMTI: "SM",1\r\n'
    listing = receiver.send("AT+CMGL=4\r").split(b"\r\n")
    assert listing[1].startswith(b"+CMGL: 1,0,,")
    decoded = decode_pdu(listing[2].decode())
    assert isinstance(decoded, Deliver) and decoded.text == "stored"
    assert receiver.send("AT+CMGR=1\r").startswith(b"\r\n+CMGR: 1,,")  # read since listing
    assert receiver.send("AT+CMGD=1\r") == b"\r\nOK\r\n"
    assert receiver.send("AT+CMGR=1\r") == b"\r\n+CMS ERROR: 321\r\n"
    assert receiver.send("AT+CPMS?\r") == b'\r\n+CPMS: "SM",0,30,"SM",0,30,"SM",0,30\r\n\r\nOK\r\n'


async def test_without_cnmi_messages_and_reports_are_stored_silently(
    pair: tuple[Wire, Wire], network: SimNetwork
) -> None:
    sender, receiver = pair
    _quiet(sender, receiver)
    [part] = encode_submit("+5511990000002", "quiet", status_report=True)
    receiver.output.clear()
    assert _send_pdu(sender, part.pdu, part.tpdu_length) == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
    assert bytes(receiver.output) == b""
    assert receiver.send("AT+CPMS?\r").startswith(b'\r\n+CPMS: "SM",1,30,')


async def test_report_is_stored_like_a_message_for_pollers(network: SimNetwork) -> None:
    [modem] = network.add_modems(1)
    wire = Wire(modem)
    _quiet(wire)
    [part] = encode_submit("+5521987654321", "report me", status_report=True)
    _send_pdu(wire, part.pdu, part.tpdu_length)
    await network.wait_for_ledger(1)
    while modem.storages["SM"].used == 0:
        await wire.expect(b"")  # let the report timer run
    answer = wire.send("AT+CMGR=1\r").split(b"\r\n")
    report = decode_pdu(answer[2].decode())
    assert isinstance(report, StatusReport)
    assert (report.mr, report.recipient, report.status) == (0, "+5521987654321", 0)


async def test_cds_for_ds1_and_cdsi_for_ds2(network: SimNetwork) -> None:
    direct, stored = (Wire(modem) for modem in network.add_modems(2))
    _quiet(direct, stored)
    direct.send("AT+CNMI=2,1,0,1,0\r")
    stored.send("AT+CNMI=2,1,0,2,0\r")
    [part] = encode_submit("+5521987654321", "x", status_report=True)
    _send_pdu(direct, part.pdu, part.tpdu_length)
    _send_pdu(stored, part.pdu, part.tpdu_length)
    direct.output.clear()
    header = await direct.expect(b"\r\n", timeout=2) + await direct.expect(b"\r\n")
    assert header.startswith(b"\r\n+CDS: ")
    pdu = (await direct.expect(b"\r\n")).strip()
    report = decode_pdu(pdu.decode())
    assert isinstance(report, StatusReport) and report.mr == 0
    assert header == f"\r\n+CDS: {report.tpdu_length}\r\n".encode()
    assert await stored.expect(b'+CDSI: "SR",1\r\n')
    stored.send('AT+CPMS="SR"\r')
    assert stored.send("AT+CMGL=4\r").startswith(b"\r\n+CMGL: 1,0,,")


def test_concatenated_message_keeps_ref_total_seq(
    pair: tuple[Wire, Wire], network: SimNetwork
) -> None:
    sender, receiver = pair
    _quiet(sender, receiver)
    receiver.send("AT+CNMI=2,1,0,0,0\r")
    parts = encode_submit("+5511990000002", "long " * 70, concat_ref=42)
    assert len(parts) == 3
    for part in parts:
        _send_pdu(sender, part.pdu, part.tpdu_length)
    assert [entry["concat"] for entry in network.ledger] == [
        {"ref": 42, "total": 3, "seq": seq} for seq in (1, 2, 3)
    ]
    lines = receiver.send("AT+CMGL=4\r").split(b"\r\n")
    delivered = [decode_pdu(line.decode()) for line in lines[2:8:2]]
    assert [d.concat for d in delivered if isinstance(d, Deliver)] == [
        d.concat for d in (decode_pdu(p.pdu) for p in parts) if not isinstance(d, StatusReport)
    ]
    assert "".join(d.text or "" for d in delivered if isinstance(d, Deliver)) == "long " * 70


def test_storage_full_is_cms_322_on_store(network: SimNetwork) -> None:
    network.capacity = 2
    [modem] = network.add_modems(1)
    wire = Wire(modem)
    _quiet(wire)
    [part] = encode_submit("+5521987654321", "draft")
    for expected in (b"\r\n+CMGW: 1\r\n\r\nOK\r\n", b"\r\n+CMGW: 2\r\n\r\nOK\r\n"):
        assert wire.send(f"AT+CMGW={part.tpdu_length}\r") == b"\r\n> "
        assert wire.send(part.pdu.encode() + b"\x1a") == expected
    wire.send(f"AT+CMGW={part.tpdu_length}\r")
    assert wire.send(part.pdu.encode() + b"\x1a") == b"\r\n+CMS ERROR: 322\r\n"


def test_incoming_waits_at_the_network_while_storage_is_full(network: SimNetwork) -> None:
    network.capacity = 1
    [modem] = network.add_modems(1)
    wire = Wire(modem)
    _quiet(wire)
    network.inject_incoming(0, "+5521987654321", "first")
    network.inject_incoming(0, "+5521987654321", "second")
    assert modem.storages["SM"].used == 1
    wire.send("AT+CMGD=1\r")
    second = decode_pdu(wire.send("AT+CMGR=1\r").split(b"\r\n")[2].decode())
    assert isinstance(second, Deliver) and second.text == "second"


def test_cpms_selection_answers_usage(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    _quiet(wire)
    assert wire.send("AT+CPMS=?\r") == (
        b'\r\n+CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")\r\n\r\nOK\r\n'
    )
    assert wire.send('AT+CPMS="ME","ME","ME"\r') == b"\r\n+CPMS: 0,30,0,30,0,30\r\n\r\nOK\r\n"
    assert wire.send('AT+CPMS="XX"\r') == b"\r\n+CMS ERROR: 303\r\n"
    assert wire.send("AT+CPMS?\r") == b'\r\n+CPMS: "ME",0,30,"ME",0,30,"ME",0,30\r\n\r\nOK\r\n'


async def test_text_mode_send_and_read(pair: tuple[Wire, Wire], network: SimNetwork) -> None:
    sender, receiver = pair
    _quiet(sender, receiver)
    for wire in (sender, receiver):
        assert wire.send("AT+CMGF=1\r") == b"\r\nOK\r\n"
    assert sender.send("AT+CSDH=1\r") == b"\r\nOK\r\n"
    assert sender.send("AT+CSMP=49,167,0,0\r") == b"\r\nOK\r\n"
    assert sender.send('AT+CMGS="+5511990000002"\r') == b"\r\n> "
    assert sender.send(b"plain text\x1a") == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
    assert network.ledger[0]["text"] == "plain text"
    assert network.ledger[0]["status_report"] is True
    answer = receiver.send('AT+CMGL="ALL"\r').split(b"\r\n")
    assert answer[1].startswith(b'+CMGL: 1,"REC UNREAD","+5511990000001",,"')
    assert answer[2] == b"plain text"


def test_mr_wraps_after_255(pair: tuple[Wire, Wire]) -> None:
    sender, _ = pair
    _quiet(sender)
    sender.modem.next_mr = 255
    [part] = encode_submit("+5521987654321", "wrap")
    assert _send_pdu(sender, part.pdu, part.tpdu_length) == b"\r\n+CMGS: 255\r\n\r\nOK\r\n"
    assert _send_pdu(sender, part.pdu, part.tpdu_length) == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
