"""Identities of simulated modems: phone numbers, IMEI, IMSI and ICCID, all deterministic.

The n-th modem of a network always gets the same identity, so tests and benchmarks can name
modems by number. IMEIs and ICCIDs carry a valid Luhn check digit; IMSIs use the Brazilian
country code 724 like the default numbers (+55...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

E164_PATTERN = re.compile(r"^\+[1-9]\d{6,14}$")
IMEI_TYPE_ALLOCATION_CODE = "35875206"
IMSI_PREFIX = "72405"
ICCID_PREFIX = "895505"


def luhn_check_digit(digits: str) -> str:
    """The digit that makes ``digits + check`` pass the Luhn test."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def luhn_valid(digits: str) -> bool:
    return luhn_check_digit(digits[:-1]) == digits[-1]


def number_at(first_number: str, index: int) -> str:
    """``first_number`` counted up by ``index``, keeping its digit count."""
    if not E164_PATTERN.match(first_number):
        raise ValueError(f"not an E.164 number: {first_number!r}")
    digits = first_number[1:]
    counted = str(int(digits) + index)
    if len(counted) != len(digits):
        raise ValueError(f"{first_number} + {index} overflows its digit count")
    return "+" + counted


@dataclass(frozen=True)
class ModemIdentity:
    """Who a simulated modem is on the simulated network."""

    index: int
    number: str
    imei: str
    imsi: str
    iccid: str


def identity_for(first_number: str, index: int) -> ModemIdentity:
    serial = f"{index + 100001:06d}"
    imei_body = IMEI_TYPE_ALLOCATION_CODE + serial
    iccid_body = ICCID_PREFIX + f"{index + 1:013d}"
    return ModemIdentity(
        index=index,
        number=number_at(first_number, index),
        imei=imei_body + luhn_check_digit(imei_body),
        imsi=IMSI_PREFIX + f"{index + 1:010d}",
        iccid=iccid_body + luhn_check_digit(iccid_body),
    )
