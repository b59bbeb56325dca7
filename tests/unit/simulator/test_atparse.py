"""Splitting AT command lines."""

from __future__ import annotations

import pytest

from gatewayd.simulator.atparse import AtRequest, AtSyntaxError, parse_command_line


def test_compound_extended_commands() -> None:
    assert parse_command_line("AT+CMEE=1;+CREG=2") == [
        AtRequest("+CMEE", "set", "1"),
        AtRequest("+CREG", "set", "2"),
    ]


def test_forms_and_case() -> None:
    assert parse_command_line("at+creg?;+cnmi=?;+cgmi") == [
        AtRequest("+CREG", "read"),
        AtRequest("+CNMI", "test"),
        AtRequest("+CGMI", "action"),
    ]


def test_basic_chain_with_ampersand_and_s_register() -> None:
    assert parse_command_line("ATE0V1&D2S0=0S3?") == [
        AtRequest("E", "set", "0"),
        AtRequest("V", "set", "1"),
        AtRequest("&D", "set", "2"),
        AtRequest("S0", "set", "0"),
        AtRequest("S3", "read"),
    ]


def test_semicolon_inside_quotes_stays_in_the_argument() -> None:
    [request] = parse_command_line('AT+CUSD=1,"*100;#",15')
    assert request.params() == ["1", "*100;#", "15"]


def test_dollar_prefixed_command() -> None:
    assert parse_command_line("AT$TSSPCSW=?") == [AtRequest("$TSSPCSW", "test")]


def test_empty_parameters_are_none() -> None:
    assert AtRequest("+CNMI", "set", "2,,0").int_params() == [2, None, 0]


@pytest.mark.parametrize("line", ["XYZ", 'AT+CUSD=1,"*100#', "AT+", "ATS=1", "AT&"])
def test_malformed_lines_raise(line: str) -> None:
    with pytest.raises(AtSyntaxError):
        parse_command_line(line)
