"""Quick ways give what the plain ways give: septets packed by one int() equal septets
shifted in one by one, and the single-part GSM-7 way of :func:`encode_submit` (most texts)
writes exactly what the general way (split, then user data per part) writes, over random and
edge texts; texts it does not cover (UCS-2, more than one part) are left to the general way."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gatewayd.sms import Concat, encode, encode_submit, gsm7
from gatewayd.sms.gsm7 import EXTENSION_CHARS, GSM7_CHARS

GSM_ALPHABET = "".join(sorted(GSM7_CHARS))
texts = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=GSM_ALPHABET, max_size=200),
    st.text(alphabet="a" + "".join(sorted(EXTENSION_CHARS)), max_size=170),
    st.text(alphabet=GSM_ALPHABET + "ł中😀", max_size=170),
)
EDGE_TEXTS = [
    "",
    "@",
    "@" * 160,
    "a" * 160,
    "a" * 161,
    "a" * 159 + "€",
    "a" * 158 + "€",
    "€" * 80,
    "€" * 81,
    "\f" * 3,
    "Ça coûte 5 €, ok? {x} [y] ~z^ |\\",
    "ÄÖÑÜ§¿äöñüà ΔΦΓΛΩΠΨΣΘΞ",
    "a" * 70 + "ł",
    "😀",
    "\x1b",
    "line\nbreak\rreturn",
]


def _general_user_data(text: str) -> bytes | None:
    """What the general way writes as TP-UDL and TP-UD when the text is one GSM-7 part."""
    chosen, parts = encode._split_with_refs(text, "auto", 0)
    if chosen != "gsm7" or len(parts) != 1:
        return None
    part, header = parts[0]
    assert header == b""
    return encode._user_data(part, chosen, header)


@settings(max_examples=3000, deadline=None)
@given(texts)
@example("a" * 160)
@example("a" * 159 + "€")
def test_single_part_user_data_is_the_general_one(text: str) -> None:
    assert encode._single_gsm7_user_data(text) == _general_user_data(text)


@pytest.mark.parametrize("text", EDGE_TEXTS)
@pytest.mark.parametrize(
    ("options"),
    [
        {},
        {"status_report": True, "flash": True, "validity_minutes": 1440, "mr": 255},
        {"concat_ref": 300, "reject_duplicates": True, "smsc": "+447700900123"},
        {"encoding": "gsm7"},
        {"part_of": Concat(ref=9, total=2, seq=1)},
    ],
)
def test_whole_pdus_are_the_general_ones(
    text: str, options: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    recipient = "+5511987654321"
    try:
        fast = encode_submit(recipient, text, **options)  # type: ignore[arg-type]
    except ValueError as error:
        fast_error: str | None = str(error)
    else:
        fast_error = None
    monkeypatch.setattr(encode, "_single_gsm7_user_data", lambda text: None)
    try:
        general = encode_submit(recipient, text, **options)  # type: ignore[arg-type]
    except ValueError as error:
        assert fast_error == str(error)
    else:
        assert fast_error is None
        assert fast == general


def test_texts_beyond_one_part_or_outside_gsm7_take_the_general_way() -> None:
    assert encode._single_gsm7_user_data("a" * 161) is None
    assert encode._single_gsm7_user_data("a" * 159 + "€") is None
    assert encode._single_gsm7_user_data("ł") is None
    assert encode._single_gsm7_user_data("a" * 160) is not None


def _packed_by_shifts(septets: bytes, fill_bits: int) -> bytes:
    """Septets packed one shift at a time, as TS 23.038 §6.1.2.1 describes it."""
    accumulator = 0
    for index, septet in enumerate(septets):
        accumulator |= septet << (7 * index)
    total_bits = 7 * len(septets) + fill_bits
    return (accumulator << fill_bits).to_bytes((total_bits + 7) // 8, "little")


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=300).map(lambda raw: bytes(b & 0x7F for b in raw)), st.integers(0, 6))
@example(b"", 0)
@example(b"\x7f" * 160, 6)
@example(b"\x00" * 8, 1)
def test_septets_pack_as_shifted_one_by_one(septets: bytes, fill_bits: int) -> None:
    assert gsm7.pack_septets(septets, fill_bits) == _packed_by_shifts(septets, fill_bits)
