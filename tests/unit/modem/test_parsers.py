"""Pure parsers: option lists, settings choice, signal/registration/operator, storage, USSD."""

from __future__ import annotations

import pytest

from gatewayd.modem.channel import Response
from gatewayd.modem.identity import best_state, parse_cops, parse_csq, parse_registration
from gatewayd.modem.negotiation import (
    ack_required,
    choose_indication,
    choose_storages,
    parse_int_options,
    split_groups,
)
from gatewayd.modem.storage import parse_cmgl, parse_cmgr
from gatewayd.modem.ussd import alphabet_of, decode_ussd_text, parse_cusd
from gatewayd.sms.gsm7 import pack_septets, text_to_septets


def test_split_groups_and_ranges() -> None:
    groups = split_groups("(0-2),(0-3),(0,2),(0-2),(0,1)")
    assert groups == ["0-2", "0-3", "0,2", "0-2", "0,1"]
    assert parse_int_options("0-1,3") == {0, 1, 3}
    assert split_groups('("SM","ME"),("SM")') == ['"SM","ME"', '"SM"']


@pytest.mark.parametrize(
    ("offer", "prefer_direct", "command", "messages", "reports"),
    [
        ("(0-2),(0-3),(0,2),(0-2),(0,1)", True, "AT+CNMI=2,2,0,1,0", "direct", "direct"),
        ("(0-2),(0-3),(0,2),(0-2),(0,1)", False, "AT+CNMI=2,1,0,2,0", "stored", "stored"),
        ("(0,1),(0,1),(0),(0,2),(0)", True, "AT+CNMI=1,1,0,2,0", "stored", "stored"),
        ("(1,2),(0-3),(0,2),(0,1),(0,1)", True, "AT+CNMI=2,2,0,1,0", "direct", "direct"),
        ("(2),(0-2),(0),(0)", True, "AT+CNMI=2,2,0,0", "direct", "poll"),
    ],
)
def test_choose_indication(
    offer: str, prefer_direct: bool, command: str, messages: str, reports: str
) -> None:
    chosen = choose_indication(offer, prefer_direct=prefer_direct)
    assert chosen is not None
    assert (chosen.command, chosen.messages, chosen.reports) == (command, messages, reports)


def test_choose_indication_refuses_nonsense() -> None:
    assert choose_indication("(0),(0)") is None
    assert choose_indication("garbage") is None


def test_choose_storages() -> None:
    chosen = choose_storages('("SM","ME","SR"),("SM","ME"),("SM","ME")')
    assert chosen is not None
    assert chosen.command == 'AT+CPMS="ME","ME","ME"'
    only_sim = choose_storages('("SM"),("SM"),("SM")')
    assert only_sim is not None and only_sim.read == "SM"
    assert choose_storages('("XX"),("XX"),("XX")') is None


def test_ack_required_only_for_service_one() -> None:
    assert ack_required("1,1,1,1")
    assert not ack_required("0,1,1,1")
    assert not ack_required(None)


@pytest.mark.parametrize(
    ("value", "rssi", "dbm", "ber"),
    [
        ("21,99", 21, -71, None),
        ("0,0", 0, -113, 0),
        ("31,99", 31, -51, None),
        ("99,99", None, None, None),
    ],
)
def test_parse_csq(value: str, rssi: int | None, dbm: int | None, ber: int | None) -> None:
    quality = parse_csq(value)
    assert (quality.rssi, quality.dbm, quality.ber) == (rssi, dbm, ber)


@pytest.mark.parametrize(
    ("value", "state"),
    [
        ("0,1", "home"),
        ('2,5,"00A1","0B2C",7', "roaming"),
        ("0,2", "searching"),
        ("0,3", "denied"),
        ("0,0", "not_registered"),
        ("0,4", "unknown"),
        ("1", "home"),
    ],
)
def test_parse_registration(value: str, state: str) -> None:
    assert parse_registration(value) == state


def test_best_state_and_operator() -> None:
    assert best_state("searching", None, "roaming") == "roaming"
    assert best_state(None, None) == "unknown"
    assert parse_cops('0,0,"Vivo",7') == "Vivo"
    assert parse_cops("0") is None


def test_parse_cmgl_pairs_headers_with_pdus() -> None:
    response = Response(
        "AT+CMGL=4",
        ("+CMGL: 1,0,,24", "0011AA", "+CMGL: 4,1,,30", "0022bb", "+CMGL: 5,1,,3", "not hex"),
    )
    messages = parse_cmgl(response, "ME")
    assert [(m.index, m.status, m.pdu, m.storage) for m in messages] == [
        (1, 0, "0011AA", "ME"),
        (4, 1, "0022BB", "ME"),
    ]
    assert messages[0].status_name == "unread"


def test_parse_cmgr() -> None:
    found = parse_cmgr(Response("AT+CMGR=2", ("+CMGR: 1,,24", "0011AA")), "SM", 2)
    assert found is not None and (found.index, found.status, found.pdu) == (2, 1, "0011AA")
    assert parse_cmgr(Response("AT+CMGR=2", ()), "SM", 2) is None


def test_ussd_decoding() -> None:
    assert alphabet_of(15) == "gsm7"
    assert alphabet_of(72) == "ucs2"
    ucs2 = "Saldo: R$ 5,00 ação".encode("utf-16-be").hex().upper()
    assert decode_ussd_text(ucs2, 72) == "Saldo: R$ 5,00 ação"
    packed = pack_septets(text_to_septets("Your balance is 10")).hex().upper()
    assert decode_ussd_text(packed, 15) == "Your balance is 10"
    assert decode_ussd_text("Saldo R$ 3", 15) == "Saldo R$ 3"
    assert decode_ussd_text("1234", 15) == "1234"


def test_parse_cusd() -> None:
    reply = parse_cusd('0,"Saldo: R$ 10,00",15')
    assert (reply.status, reply.text, reply.dcs, reply.status_name) == (
        0,
        "Saldo: R$ 10,00",
        15,
        "done",
    )
    assert parse_cusd("4").text is None
