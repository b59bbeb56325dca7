"""TP addresses (originator, destination, recipient) and the SMSC field in front of a TPDU.

An address is written as a user reads it: ``+`` and digits for international numbers (type
0x91), digits alone for national/unknown ones (0x81), any other text for an alphanumeric
sender (0xD0, GSM-7 packed). Semi-octets beyond 0-9 follow TS 23.040 §9.1.2.3.
"""

from __future__ import annotations

import re

from gatewayd.sms import gsm7
from gatewayd.sms.reader import OctetReader

TYPE_INTERNATIONAL = 0x91
TYPE_UNKNOWN = 0x81
TYPE_ALPHANUMERIC = 0xD0

MAX_DIGITS = 20
MAX_ALPHANUMERIC_SEPTETS = 11

_NUMBER_PATTERN = re.compile(r"\+?[0-9]{1,20}")
_SEMI_OCTET_DIGITS = "0123456789*#abc"
_TYPE_OF_NUMBER_INTERNATIONAL = 0b001
_TYPE_OF_NUMBER_ALPHANUMERIC = 0b101


def _octet_digits(octet: int) -> str:
    return "".join(
        _SEMI_OCTET_DIGITS[nibble] for nibble in (octet & 0x0F, octet >> 4) if nibble != 0x0F
    )  # 0xF is filler


_OCTET_TO_DIGITS = tuple(_octet_digits(octet) for octet in range(256))


def _swap_nibbles_to_digits(value: bytes) -> str:
    return "".join([_OCTET_TO_DIGITS[octet] for octet in value])


def _digits_to_semi_octets(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes.fromhex("".join(map(str.__add__, digits[1::2], digits[::2])))


def check_number(number: str, role: str) -> str:
    """``number`` when it is ``+``/digits; ValueError with a one-line reason otherwise."""
    if not _NUMBER_PATTERN.fullmatch(number):
        raise ValueError(
            f"invalid {role} number {number!r}: expected an optional '+' and 1-{MAX_DIGITS} digits"
        )
    return number


def encode_address(address: str, *, role: str, allow_alphanumeric: bool = False) -> bytes:
    """The TP address field: length, type of address, value."""
    if _NUMBER_PATTERN.fullmatch(address):
        if address.startswith("+"):
            digits, type_of_address = address[1:], TYPE_INTERNATIONAL
        else:
            digits, type_of_address = address, TYPE_UNKNOWN
        return bytes((len(digits), type_of_address)) + _digits_to_semi_octets(digits)
    if not allow_alphanumeric:
        check_number(address, role)
    try:
        septets = gsm7.text_to_septets(address)
    except ValueError as exc:
        raise ValueError(f"invalid {role} address {address!r}: {exc}") from None
    if not septets or len(septets) > MAX_ALPHANUMERIC_SEPTETS:
        raise ValueError(
            f"invalid {role} address {address!r}: alphanumeric addresses take "
            f"1-{MAX_ALPHANUMERIC_SEPTETS} GSM-7 septets"
        )
    packed = gsm7.pack_septets(septets)
    semi_octets = (len(septets) * 7 + 3) // 4
    return bytes((semi_octets, TYPE_ALPHANUMERIC)) + packed


def decode_address(reader: OctetReader, field: str) -> str:
    """Read one TP address field and return it in the written form described above."""
    semi_octets = reader.octet(f"{field} length")
    type_of_address = reader.octet(f"{field} type")
    value = reader.take((semi_octets + 1) // 2, field)
    type_of_number = (type_of_address >> 4) & 0x07
    if type_of_number == _TYPE_OF_NUMBER_ALPHANUMERIC:
        return gsm7.septets_to_text(gsm7.unpack_septets(value, semi_octets * 4 // 7))
    digits = _swap_nibbles_to_digits(value)
    if type_of_number == _TYPE_OF_NUMBER_INTERNATIONAL and digits:
        return "+" + digits
    return digits


def encode_smsc(smsc: str | None) -> bytes:
    """The SMSC field: ``00`` (use the SIM's SMSC) when ``smsc`` is None."""
    if smsc is None:
        return b"\x00"
    check_number(smsc, "SMSC")
    if smsc.startswith("+"):
        digits, type_of_address = smsc[1:], TYPE_INTERNATIONAL
    else:
        digits, type_of_address = smsc, TYPE_UNKNOWN
    value = _digits_to_semi_octets(digits)
    return bytes((len(value) + 1, type_of_address)) + value


def decode_smsc(reader: OctetReader) -> str | None:
    """Read the SMSC field; None when it is empty (length 0)."""
    length = reader.octet("SMSC length")
    if length == 0:
        return None
    type_of_address = reader.octet("SMSC type")
    digits = _swap_nibbles_to_digits(reader.take(length - 1, "SMSC number"))
    if (type_of_address >> 4) & 0x07 == _TYPE_OF_NUMBER_INTERNATIONAL and digits:
        return "+" + digits
    return digits
