"""Decoding is total: malformed input raises PduError with a one-line message, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.sms import Deliver, PduError, StatusReport, Submit, decode_pdu, pdu_to_json

SIMPLE_DELIVER = "07911326040000F0040B911346610089F60000208062917314480CC8F71D14969741F977FD07"
# python-gsmmodem test/test_pdu.py: "User data length is invalid in this PDU (too long)"
UDL_TOO_LONG = "0041010C910661345542F60008A0050003000301306F3044"


@pytest.mark.parametrize(
    ("pdu", "message"),
    [
        ("", "empty PDU"),
        ("   ", "empty PDU"),
        ("zz", "not hexadecimal"),
        ("AFSDSDF LJJFKLDJKLFJ# #$KJLKJL SF", "not hexadecimal"),  # python-gsmmodem
        ("0791132", "odd number of hex digits"),
        ("00", "missing first octet"),
        ("07911326040000", "truncated"),  # SMSC longer than the PDU
        ("0004", "missing originating address length"),
        ("00040B91134661", "originating address"),
        ("0043010C910661345542F60008A0050003000301306F3044", "reserved message type"),
        (UDL_TOO_LONG, "user data needs 160 octets"),
        ("00040391214300002080629173144805C8F71D", "user data (5 septets)"),
        ("00440391214300002080629173144801FF", "length 255 exceeds the user data"),
        ("00440391214300002080629173144800", "header indicated but user data is empty"),
        ("0044039121430008208062917314480606080400010201", "exceeds the user data"),
        ("0006D6", "recipient address length"),
        ("0006D60B911326880736F41110117195514011101171957140", "missing status"),
        ("0011000B916407281553F80000", "validity period"),
    ],
)
def test_malformed_pdus_raise_one_line_pdu_errors(pdu: str, message: str) -> None:
    with pytest.raises(PduError) as caught:
        decode_pdu(pdu)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_user_data_header_longer_than_the_septets_is_an_error() -> None:
    # UDL 6 septets (6 octets), but a 6-octet header occupies 7 septets
    with pytest.raises(PduError, match="longer than the user data length"):
        decode_pdu("00440391214300002080629173144806050003010201")


def test_trailing_octets_after_the_user_data_are_tolerated() -> None:
    decoded = decode_pdu(SIMPLE_DELIVER + "FFFF")
    assert isinstance(decoded, Deliver)
    assert decoded.text == "How are you?"
    assert decoded.tpdu_length == 32  # what AT+CMGS would need to send these octets as they are


def test_whitespace_around_and_lowercase_hex_are_accepted() -> None:
    decoded = decode_pdu("  " + SIMPLE_DELIVER.lower() + "\r\n")
    assert isinstance(decoded, Deliver)
    assert decoded.sender == "+31641600986"


def test_raw_bytes_are_accepted() -> None:
    decoded = decode_pdu(bytes.fromhex(SIMPLE_DELIVER))
    assert isinstance(decoded, Deliver)
    assert decoded.text == "How are you?"


def test_odd_ucs2_payload_is_decoded_leniently() -> None:
    decoded = decode_pdu("0004039121430008208062917314480300410A")
    assert isinstance(decoded, Deliver)
    assert decoded.text == "A\ufffd"


def _check_total(pdu: str | bytes, smsc: bool) -> None:
    """``pdu`` decodes (read with or without its SMSC field, as ``smsc`` says) or raises a
    one-line PduError."""
    try:
        decoded = decode_pdu(pdu, smsc=smsc)
    except PduError as exc:
        assert "\n" not in str(exc)
        assert str(exc)
        return
    assert isinstance(decoded, Deliver | Submit | StatusReport)
    if not smsc:
        assert decoded.smsc is None
    view = pdu_to_json(decoded)
    assert view["type"] in {"deliver", "submit", "status_report"}


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_fuzz_arbitrary_octets(data: bytes, smsc: bool) -> None:
    _check_total(data, smsc)
    _check_total(data.hex(), smsc)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFabcdef xyz\n", max_size=120), st.booleans())
def test_fuzz_arbitrary_hex_like_text(text: str, smsc: bool) -> None:
    _check_total(text, smsc)


@settings(max_examples=1500, deadline=None)
@given(
    st.integers(min_value=0, max_value=len(SIMPLE_DELIVER) // 2 - 1),
    st.binary(max_size=4),
    st.booleans(),
)
def test_fuzz_mutations_of_a_real_pdu(position: int, replacement: bytes, smsc: bool) -> None:
    octets = bytearray.fromhex(SIMPLE_DELIVER if smsc else SIMPLE_DELIVER[16:])
    octets[position : position + len(replacement)] = replacement
    _check_total(bytes(octets), smsc)
    _check_total(bytes(octets[:position]), smsc)


def test_the_smsc_flag_decides_where_the_tpdu_starts() -> None:
    with_smsc = decode_pdu(SIMPLE_DELIVER)
    without = decode_pdu(SIMPLE_DELIVER[16:], smsc=False)
    assert isinstance(with_smsc, Deliver) and isinstance(without, Deliver)
    assert (with_smsc.smsc, without.smsc) == ("+31624000000", None)
    assert with_smsc.text == without.text == "How are you?"
    with pytest.raises(PduError, match="reserved message type"):
        decode_pdu(SIMPLE_DELIVER, smsc=False)  # its SMSC length octet 07 read as the TPDU
