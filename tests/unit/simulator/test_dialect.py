"""The line discipline and the dialects of gammu, smstools and Kannel, bytes in -> bytes out."""

from __future__ import annotations

import pytest

from tests.unit.simulator.conftest import Wire


def test_echo_is_on_by_default_and_off_after_ate0(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    assert wire.send("AT\r") == b"AT\r\r\nOK\r\n"
    assert wire.send("ATE0\r") == b"ATE0\r\r\nOK\r\n"
    assert wire.send("AT\r") == b"\r\nOK\r\n"
    assert wire.send("ATE1\r") == b"\r\nOK\r\n"
    assert wire.send("AT\r") == b"AT\r\r\nOK\r\n"


def test_escape_cr_is_harmless(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    assert wire.send(b"\x1b\r") == b""
    assert wire.send("AT\r") == b"AT\r\r\nOK\r\n"


def test_crlf_terminated_commands_and_split_input(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    wire.send("ATE0\r")
    assert wire.send("AT+CS") == b""
    assert wire.send("Q\r\n") == b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    assert wire.send("AT\r\n") == b"\r\nOK\r\n"


def test_compound_command_answers_once(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    wire.send("ATE0\r")
    assert wire.send("AT+CMEE=1;+CREG=2\r") == b"\r\nOK\r\n"
    assert wire.send("AT+CREG?\r") == b'\r\n+CREG: 2,1,"00A1","0B2C"\r\n\r\nOK\r\n'
    assert wire.send("AT+CGMI;+CGMM\r") == b"\r\nGatewayd\r\n\r\nSimModem GSM\r\n\r\nOK\r\n"


def test_compound_stops_at_the_first_failure(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    wire.send("ATE0\r")
    assert wire.send("AT+CGMI;+NOSUCH;+CMEE=1\r") == b"\r\nGatewayd\r\n\r\nERROR\r\n"
    assert wire.send("AT+CMEE?\r") == b"\r\n+CMEE: 0\r\n\r\nOK\r\n"


@pytest.mark.parametrize(
    "command", ["AT+MODE=2", "AT+CPROT=?", "AT+SYNCML=?", "AT$TSSPCSW=?", "AT+CHUP=?"]
)
def test_gammu_probes_are_refused(pair: tuple[Wire, Wire], command: str) -> None:
    wire, _ = pair
    assert wire.send(command + "\r") == command.encode() + b"\r\r\nERROR\r\n"


def test_gammu_probe_answers_with_echo(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    assert wire.send("ATE1\r") == b"ATE1\r\r\nOK\r\n"
    assert wire.send("AT+CSCS=?\r") == b'AT+CSCS=?\r\r\n+CSCS: ("IRA","GSM","UCS2")\r\n\r\nOK\r\n'
    assert wire.send("AT+CGSN\r") == b"AT+CGSN\r\r\n358752061000018\r\n\r\nOK\r\n"
    assert wire.send("AT+CIMI\r") == b"AT+CIMI\r\r\n724050000000001\r\n\r\nOK\r\n"
    assert b"+CNMI: (0-2),(0-3),(0,2),(0,1),(0,1)" in wire.send("AT+CNMI=?\r")
    assert wire.send("AT+CNMI=2,1,0,1,0\r").endswith(b"\r\nOK\r\n")
    assert wire.send("AT+CUSD=1\r").endswith(b"\r\nOK\r\n")
    assert wire.send("AT+CMMS=2\r").endswith(b"\r\nOK\r\n")
    assert wire.send("AT+CFUN=1\r").endswith(b"\r\nOK\r\n")


def test_gammu_network_checks(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    wire.send("ATE0\r")
    assert wire.send("AT+CGREG=2\r") == b"\r\nOK\r\n"
    assert wire.send("AT+CGATT?\r") == b"\r\n+CGATT: 1\r\n\r\nOK\r\n"
    assert wire.send("AT+CGREG?\r") == b'\r\n+CGREG: 2,1,"00A1","0B2C"\r\n\r\nOK\r\n'
    assert wire.send("AT+COPS=3,2\r") == b"\r\nOK\r\n"
    assert wire.send("AT+COPS?\r") == b'\r\n+COPS: 0,2,"72405",2\r\n\r\nOK\r\n'
    assert wire.send("AT+COPS=3,0\r") == b"\r\nOK\r\n"
    assert wire.send("AT+COPS?\r") == b'\r\n+COPS: 0,0,"SIMNET BR",2\r\n\r\nOK\r\n'
    assert wire.send("AT+CSCA?\r") == b'\r\n+CSCA: "+5511999000000",145\r\n\r\nOK\r\n'


def test_kannel_init_sequence(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    for command in ("ATZ", "AT", "AT&F", "ATE0"):
        assert wire.send(command + "\r").endswith(b"\r\nOK\r\n")
    identification = b"\r\nGatewayd SimModem GSM\r\nRevision: SimModem_1.0\r\n\r\nOK\r\n"
    assert wire.send("ATI\r") == identification
    assert wire.send("AT+CSMS=?\r") == b"\r\n+CSMS: (0,1)\r\n\r\nOK\r\n"
    assert wire.send("AT+IFC=2,2\r") == b"\r\nOK\r\n"
    assert wire.send("AT+CPIN?\r") == b"\r\n+CPIN: READY\r\n\r\nOK\r\n"
    assert wire.send("AT+CMGF=0\r") == b"\r\nOK\r\n"
    assert wire.send("AT+CNMI=1,2,0,1,0\r") == b"\r\nOK\r\n"
    assert wire.send("AT+CNMI?\r") == b"\r\n+CNMI: 1,2,0,1,0\r\n\r\nOK\r\n"
    assert wire.send("AT+CNMA\r") == b"\r\nOK\r\n"


def test_atz_restores_echo(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    wire.send("ATE0\r")
    assert wire.send("ATZ\r") == b"\r\nOK\r\n"
    assert wire.send("AT\r") == b"AT\r\r\nOK\r\n"


def test_lines_without_at_prefix_are_ignored(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    wire.send("ATE0\r")
    assert wire.send("hello\r") == b""


def test_cme_error_format_follows_cmee(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    wire.send("ATE0\r")
    assert wire.send('AT+CPIN="1234"\r') == b"\r\nERROR\r\n"
    wire.send("AT+CMEE=1\r")
    assert wire.send('AT+CPIN="1234"\r') == b"\r\n+CME ERROR: 3\r\n"


async def test_ussd_answer_arrives_unsolicited_after_ok(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    wire.send("ATE0\r")
    assert wire.send('AT+CUSD=1,"*100#",15\r') == b"\r\nOK\r\n"
    wire.output.clear()
    seen = await wire.expect(b",15\r\n")
    assert seen == b'\r\n+CUSD: 0,"Saldo: R$ 12,34. Validade: 31/12/2030.",15\r\n'


def test_ucs2_character_set_encodes_strings(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    wire.send("ATE0\r")
    assert wire.send('AT+CSCS="UCS2"\r') == b"\r\nOK\r\n"
    expected = "+5511999000000".encode("utf-16-be").hex().upper().encode()
    assert wire.send("AT+CSCA?\r") == b'\r\n+CSCA: "' + expected + b'",145\r\n\r\nOK\r\n'


def test_s_registers_and_identity_aliases(pair: tuple[Wire, Wire]) -> None:
    wire, _ = pair
    wire.send("ATE0\r")
    assert wire.send("ATS3?\r") == b"\r\n013\r\n\r\nOK\r\n"
    assert wire.send("AT+GSN\r") == b"\r\n358752061000018\r\n\r\nOK\r\n"
    assert wire.send("AT+CCID\r").startswith(b"\r\n+CCID: 8955")
    assert wire.send("AT+CNUM\r") == b'\r\n+CNUM: "","+5511990000001",145\r\n\r\nOK\r\n'
