"""Data coding scheme (TS 23.038 §4): the alphabet of the user data and the message class.

All 256 values are classified once into a table. Reserved alphabets and reserved groups read
as GSM 7-bit, as the specification tells receivers to do; compressed user data cannot be
turned into text and is reported as ``8bit`` data (its length is counted in octets).
"""

from __future__ import annotations

from typing import Literal

UserDataEncoding = Literal["gsm7", "ucs2", "8bit"]

_ALPHABETS: tuple[UserDataEncoding, ...] = ("gsm7", "8bit", "ucs2", "gsm7")


def _classify(dcs: int) -> tuple[UserDataEncoding, int | None]:
    group = dcs >> 4
    if group <= 0x7:  # general data coding, optionally marked for automatic deletion
        if dcs & 0x20:
            return "8bit", (dcs & 0x03) if dcs & 0x10 else None
        return _ALPHABETS[(dcs >> 2) & 0x03], (dcs & 0x03) if dcs & 0x10 else None
    if group in (0xC, 0xD):  # message waiting indication, GSM 7-bit
        return "gsm7", None
    if group == 0xE:  # message waiting indication, UCS-2
        return "ucs2", None
    if group == 0xF:  # data coding / message class
        return ("8bit" if dcs & 0x04 else "gsm7"), dcs & 0x03
    return "gsm7", None  # reserved groups 0x8-0xB


DCS_TABLE: tuple[tuple[UserDataEncoding, int | None], ...] = tuple(
    _classify(dcs) for dcs in range(256)
)


def describe_dcs(dcs: int) -> tuple[UserDataEncoding, int | None]:
    """``(encoding, message_class)``; the class is None when the DCS does not give one."""
    return DCS_TABLE[dcs]


def dcs_for(encoding: Literal["gsm7", "ucs2"], *, flash: bool) -> int:
    """DCS of an outgoing text: general coding group, class 0 ("flash") when asked."""
    value = 0x08 if encoding == "ucs2" else 0x00
    return value | 0x10 if flash else value
