"""Pure line classification, the command table and the error table."""

from __future__ import annotations

import pytest

from gatewayd.modem.commands import command_name, spec_for
from gatewayd.modem.errors import AtCommandError, ErrorAction, error_table
from gatewayd.modem.lines import (
    LineKind,
    PendingContext,
    classify,
    clean_line,
    find_prompt,
    is_pdu_line,
)

CSQ = PendingContext("AT+CSQ", "+CSQ")
CGSN = PendingContext("AT+CGSN", None)
CMGL = PendingContext("AT+CMGL=4", "+CMGL")


@pytest.mark.parametrize(
    ("text", "context", "kind", "name"),
    [
        ("OK", CSQ, LineKind.FINAL, None),
        ("+CME ERROR: 10", CSQ, LineKind.FINAL, None),
        ("+CSQ: 20,99", CSQ, LineKind.RESPONSE, "+CSQ"),
        ('+CMTI: "SM",1', CSQ, LineKind.UNSOLICITED, "+CMTI"),
        ("+CMT: ,24", CSQ, LineKind.UNSOLICITED, "+CMT"),
        ("+CREG: 1", None, LineKind.UNSOLICITED, "+CREG"),
        ("+CREG: 0,1", PendingContext("AT+CREG?", "+CREG"), LineKind.RESPONSE, "+CREG"),
        (
            '+CUSD: 0,"hi",15',
            PendingContext('AT+CUSD=1,"*100#",15', None),
            LineKind.UNSOLICITED,
            "+CUSD",
        ),
        ("RING", CSQ, LineKind.UNSOLICITED, "RING"),
        ("NO CARRIER", None, LineKind.UNSOLICITED, "NO CARRIER"),
        ("^RSSI:14", CSQ, LineKind.UNSOLICITED, "^RSSI"),
        ("^BOOT:1,2,3", None, LineKind.UNSOLICITED, "^BOOT"),
        ("^ICCID: 8955", PendingContext("AT^ICCID?", "^ICCID"), LineKind.RESPONSE, "^ICCID"),
        ("AT+CSQ", CSQ, LineKind.ECHO, None),
        ("at+csq", CSQ, LineKind.ECHO, None),
        ("356938035643809", CGSN, LineKind.RESPONSE, None),
        ("+CGSN: 356938035643809", CGSN, LineKind.RESPONSE, "+CGSN"),
        ("0791AABB", CMGL, LineKind.RESPONSE, None),
        ("OK", None, LineKind.NOISE, None),
        ("hello", None, LineKind.NOISE, None),
        ("+XYZ: 1", CSQ, LineKind.UNSOLICITED, "+XYZ"),
    ],
)
def test_classify(
    text: str, context: PendingContext | None, kind: LineKind, name: str | None
) -> None:
    line = classify(text, False, context)
    assert (line.kind, line.name) == (kind, name)


def test_final_results_carry_kind_and_code() -> None:
    line = classify("+CMS ERROR: 500", False, CSQ)
    assert line.final is not None
    assert (line.final.ok, line.final.kind, line.final.code) == (False, "CMS", 500)
    verbose = classify("+CME ERROR: SIM PIN required", False, CSQ).final
    assert verbose is not None
    assert (verbose.kind, verbose.code, verbose.text) == ("CME", None, "SIM PIN required")


def test_damaged_lines_are_noise_but_echo_after_junk_is_echo() -> None:
    text, damaged = clean_line(b"\xff\x00OK")
    assert (text, damaged) == ("OK", True)
    assert classify(text, damaged, CSQ).kind is LineKind.NOISE
    text, damaged = clean_line(b"\x01\x02AT+CSQ")
    assert classify(text, damaged, CSQ).kind is LineKind.ECHO


def test_cmt_pdu_follows_only_in_pdu_mode_headers() -> None:
    assert classify("+CMT: ,24", False, None).pdu_follows
    assert classify('+CMT: "alpha",24', False, None).pdu_follows
    assert classify("+CDS: 25", False, None).pdu_follows
    assert not classify('+CMT: "+551199",,"24/01/01,10:00:00-12"', False, None).pdu_follows
    assert not classify('+CDS: 6,12,"+5511",145', False, None).pdu_follows


def test_pdu_line_checks_length_with_and_without_smsc() -> None:
    assert is_pdu_line("0011AB", 3)
    assert is_pdu_line("00" + "11AB", 2)
    assert is_pdu_line("07915892000000F0" + "AA" * 5, 5)
    assert not is_pdu_line("07915892000000F0" + "AA" * 5, 9)
    assert not is_pdu_line("OK")
    assert not is_pdu_line("ABC")


@pytest.mark.parametrize(
    ("buffer", "consumed"),
    [(b"> ", 2), (b"\r\n> ", 4), (b">", 1), (b"> 0011", 2), (b">x", None), (b"OK", None)],
)
def test_find_prompt(buffer: bytes, consumed: int | None) -> None:
    assert find_prompt(buffer) == consumed


@pytest.mark.parametrize(
    ("command", "name", "timeout", "prefix"),
    [
        ("AT+CSQ", "+CSQ", 2.0, "+CSQ"),
        ("AT+CMGS=23", "+CMGS", 60.0, "+CMGS"),
        ("AT+COPS=?", "+COPS=?", 180.0, "+COPS"),
        ("AT+COPS?", "+COPS", 30.0, "+COPS"),
        ('AT+CUSD=1,"*100#",15', "+CUSD", 30.0, None),
        ("AT+CNMI=?", "+CNMI=?", 5.0, "+CNMI"),
        ("ATE0", "E0", 3.0, None),
        ("AT", "", 3.0, None),
        ("AT^ICCID?", "^ICCID", 5.0, "^ICCID"),
        ("AT+FOO=1", "+FOO", 5.0, "+FOO"),
    ],
)
def test_command_table(command: str, name: str, timeout: float, prefix: str | None) -> None:
    spec = spec_for(command)
    assert command_name(command) == name
    assert (spec.timeout, spec.prefix) == (timeout, prefix)


def test_error_table_covers_every_code_and_maps_actions() -> None:
    table = error_table()
    assert (len(table.cms), len(table.cme)) == (73, 37)
    assert table.lookup("CMS", 1).action is ErrorAction.FAIL_MESSAGE
    assert table.lookup("CMS", 42).action is ErrorAction.RETRY_LATER
    assert table.lookup("CMS", 330).action is ErrorAction.TRY_OTHER_MODEM
    assert table.lookup("CMS", 331).action is ErrorAction.TRY_OTHER_MODEM
    assert table.lookup("CME", 30).action is ErrorAction.TRY_OTHER_MODEM
    assert table.lookup("CMS", 500).retry_class == "unknown"
    assert table.lookup("CMS", 600).retry_class == "unknown"
    assert table.lookup("ERROR", None).action is ErrorAction.RETRY_LATER


def test_verbose_errors_are_looked_up_by_text() -> None:
    error = AtCommandError("AT+CPIN?", "CME", None, text="SIM PIN required")
    assert (error.code, error.action) == (11, ErrorAction.TRY_OTHER_MODEM)
    unknown = AtCommandError("AT+X", "CME", None, text="something odd")
    assert (unknown.code, unknown.meaning) == (None, "something odd")
    assert unknown.retry_class == "unknown"
