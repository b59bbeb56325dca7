"""How a text becomes SMS parts: encoding choice, per-part capacity, splitting.

Capacities are in the encoding's units: GSM-7 septets (an extension character costs two) and
UTF-16 code units for UCS-2 (a character outside the BMP costs two). A part boundary never
falls inside an escape pair or a surrogate pair, because splitting is done per character.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gatewayd.sms import gsm7
from gatewayd.sms.errors import TextTooLong

Encoding = Literal["gsm7", "ucs2"]
EncodingChoice = Literal["auto", "gsm7", "ucs2"]

MAX_PARTS = 255
USER_DATA_OCTETS = 140
CONCAT_HEADER_OCTETS = 6  # UDHL + 8-bit reference concatenation IE


def choose_encoding(text: str) -> Encoding:
    """``"gsm7"`` when the GSM 03.38 alphabet and its extension cover the text, else ``"ucs2"``."""
    return "gsm7" if gsm7.is_gsm7(text) else "ucs2"


def resolve_encoding(text: str, encoding: str) -> Encoding:
    """The encoding to use; ValueError for an unknown name or GSM-7 forced on other text."""
    if encoding == "auto":
        return choose_encoding(text)
    if encoding == "ucs2":
        return "ucs2"
    if encoding == "gsm7":
        if not gsm7.is_gsm7(text):
            bad = next(char for char in text if char not in gsm7.GSM7_CHARS)
            raise ValueError(f"cannot encode {bad!r} in GSM 7-bit; use ucs2 or auto")
        return "gsm7"
    raise ValueError(f"unknown encoding {encoding!r}: expected auto, gsm7 or ucs2")


def part_capacity(encoding: Encoding, header_octets: int) -> int:
    """Units one part holds when its user data header takes ``header_octets`` (UDHL included)."""
    if encoding == "gsm7":
        return (USER_DATA_OCTETS * 8 // 7) - (header_octets * 8 + 6) // 7
    return (USER_DATA_OCTETS - header_octets) // 2


def fit_one_part(text: str, encoding: str, *, header_octets: int) -> Encoding:
    """The encoding of ``text`` sent as a single part whose user data header takes
    ``header_octets``; :class:`TextTooLong` when it does not fit (a part of a message its
    sender split itself must stay one part)."""
    chosen = resolve_encoding(text, encoding)
    units = sum(_unit_costs(text, chosen))
    capacity = part_capacity(chosen, header_octets)
    if units > capacity:
        raise TextTooLong(
            f"the part needs {units} {_UNIT_NAMES[chosen]}; one SMS with a concatenation header "
            f"holds {capacity}"
        )
    return chosen


_UNIT_NAMES: dict[Encoding, str] = {"gsm7": "GSM-7 septets", "ucs2": "UCS-2 units"}


def _unit_costs(text: str, encoding: Encoding) -> list[int]:
    if encoding == "gsm7":
        extension = gsm7.EXTENSION_CHARS
        return [2 if char in extension else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _split(text: str, costs: list[int], capacity: int) -> list[str]:
    parts: list[str] = []
    start = 0
    used = 0
    for index, cost in enumerate(costs):
        if used + cost > capacity:
            parts.append(text[start:index])
            start, used = index, 0
        used += cost
    parts.append(text[start:])
    return parts


def split_for_header(
    text: str, encoding: EncodingChoice | str = "auto", *, header_octets: int = CONCAT_HEADER_OCTETS
) -> tuple[Encoding, list[str]]:
    """Like :func:`split_text` with the concatenation header size given (7 for 16-bit refs)."""
    chosen = resolve_encoding(text, encoding)
    costs = _unit_costs(text, chosen)
    if sum(costs) <= part_capacity(chosen, 0):
        return chosen, [text]
    parts = _split(text, costs, part_capacity(chosen, header_octets))
    if len(parts) > MAX_PARTS:
        raise TextTooLong(f"text needs {len(parts)} SMS parts; at most {MAX_PARTS} are possible")
    return chosen, parts


def split_text(text: str, encoding: EncodingChoice | str = "auto") -> tuple[Encoding, list[str]]:
    """``(encoding, parts)``: 160/153 septets or 70/67 UTF-16 units a part.

    Raises :class:`TextTooLong` beyond 255 parts and ValueError when ``encoding="gsm7"`` is
    forced on text outside the GSM alphabet.
    """
    return split_for_header(text, encoding)


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """Figures for a live counter; ``segments`` may exceed 255 (the text is then too long)."""

    encoding: Encoding
    segments: int
    units: int
    units_per_segment: int
    remaining: int


def segment_info(text: str) -> SegmentInfo:
    """Encoding, part count, units used and units left in the last part; never raises."""
    encoding = choose_encoding(text)
    costs = _unit_costs(text, encoding)
    units = sum(costs)
    single = part_capacity(encoding, 0)
    if units <= single:
        return SegmentInfo(encoding, 1, units, single, single - units)
    per_part = part_capacity(encoding, CONCAT_HEADER_OCTETS)
    parts = _split(text, costs, per_part)
    last_units = sum(costs[len(text) - len(parts[-1]) :])
    return SegmentInfo(encoding, len(parts), units, per_part, per_part - last_units)
