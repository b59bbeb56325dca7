"""The GSM 03.38 default alphabet: characters <-> septets, and septet packing with fill bits.

The tables come from ``gsm7_alphabet.json`` shipped beside this module and are turned into
lookup structures once, at import. Septet ``i`` of a packed stream occupies bits ``7*i ..
7*i+6`` of the little-endian bit stream (3GPP TS 23.038 §6.1.2.1.1).
"""

from __future__ import annotations

import json
import re
from importlib import resources

ESCAPE = 0x1B


def _load_tables() -> tuple[tuple[str, ...], dict[int, str], dict[str, bytes]]:
    table_file = resources.files("gatewayd.sms").joinpath("gsm7_alphabet.json")
    raw = json.loads(table_file.read_text("utf-8"))
    basic: list[str | None] = raw["basic"]
    extension = {int(code): char for code, char in raw["extension"].items()}
    # A lone or doubled escape is shown as a space (TS 23.038 §6.2.1, note on 0x1B).
    basic_decode = tuple(" " if char is None else char for char in basic)
    encode: dict[str, bytes] = {}
    for code, char in extension.items():
        encode[char] = bytes((ESCAPE, code))
    for code, char in enumerate(basic):
        if char is not None:
            encode[char] = bytes((code,))
    return basic_decode, extension, encode


BASIC_DECODE, EXTENSION_DECODE, CHAR_TO_SEPTETS = _load_tables()
EXTENSION_CHARS = frozenset(EXTENSION_DECODE.values())
GSM7_CHARS = frozenset(CHAR_TO_SEPTETS)
_BASIC_TRANSLATION = dict(enumerate(BASIC_DECODE))
_ESCAPE_SPLIT = re.compile("\x1b(.?)", re.DOTALL)


def is_gsm7(text: str) -> bool:
    """True when every character has a place in the default alphabet or its extension."""
    return GSM7_CHARS.issuperset(text)


def septet_cost(char: str) -> int:
    """Septets one character needs: 1 for the basic table, 2 for an escape pair."""
    return 2 if char in EXTENSION_CHARS else 1


def septet_length(text: str) -> int:
    """Septets the whole text needs (it must be GSM-7 text)."""
    return len(text) + sum(1 for char in text if char in EXTENSION_CHARS)


def text_to_septets(text: str) -> bytes:
    """Septet values of ``text``; ValueError names the first character outside the alphabet."""
    try:
        return b"".join([CHAR_TO_SEPTETS[char] for char in text])
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the GSM 7-bit alphabet") from None


def septets_to_text(septets: bytes) -> str:
    """Characters of a septet sequence; an escape to an unmapped code shows the basic character."""
    as_text = septets.decode("latin-1")
    if "\x1b" not in as_text:
        return as_text.translate(_BASIC_TRANSLATION)
    # Alternating runs of basic septets and the one septet after each escape.
    pieces = _ESCAPE_SPLIT.split(as_text)
    chars = [pieces[0].translate(_BASIC_TRANSLATION)]
    for index in range(1, len(pieces), 2):
        chars.append(_escaped_char(pieces[index]))
        chars.append(pieces[index + 1].translate(_BASIC_TRANSLATION))
    return "".join(chars)


def _escaped_char(code: str) -> str:
    if not code or code == "\x1b":
        return " "
    return EXTENSION_DECODE.get(ord(code)) or BASIC_DECODE[ord(code)]


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets LSB first, starting ``fill_bits`` zero bits into the first octet."""
    # The last septet holds the highest bits: the septets' binary digits, last first, read as
    # one number (one int() call instead of a shift per septet).
    bits = "".join([_SEPTET_BITS[septet] for septet in reversed(septets)])
    total_bits = 7 * len(septets) + fill_bits
    return (int(bits or "0", 2) << fill_bits).to_bytes((total_bits + 7) // 8, "little")


_SEPTET_BITS = tuple(format(septet, "07b") for septet in range(128))


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """The first ``count`` septets of ``data`` after skipping ``fill_bits`` leading bits."""
    stream = int.from_bytes(data, "little") >> fill_bits
    return bytes([(stream >> shift) & 0x7F for shift in range(0, 7 * count, 7)])
