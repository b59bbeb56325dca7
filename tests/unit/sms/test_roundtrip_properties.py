"""Properties over arbitrary text: encode -> decode -> reassemble gives the text back, and
splitting respects part sizes, escape pairs and surrogate pairs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gatewayd.sms import (
    Concat,
    Deliver,
    Submit,
    TextTooLong,
    choose_encoding,
    decode_pdu,
    encode_deliver,
    encode_submit,
    segment_info,
    split_text,
)
from gatewayd.sms.gsm7 import EXTENSION_CHARS, GSM7_CHARS

GSM_ALPHABET = "".join(sorted(GSM7_CHARS))
texts = st.text(max_size=700)
gsm_texts = st.text(alphabet=GSM_ALPHABET, max_size=700)
extension_heavy = st.text(alphabet="a€{}[]~^|\\\f", max_size=500)
astral_heavy = st.text(alphabet="a😀𝄞ł中", max_size=300)
short_text = st.one_of(texts, gsm_texts, extension_heavy, astral_heavy)
repeated = st.builds(lambda chunk, times: chunk * times, short_text, st.integers(1, 60))
any_text = st.one_of(short_text, repeated.filter(lambda text: len(text) < 3000))


def _septets(part: str) -> int:
    return len(part) + sum(1 for char in part if char in EXTENSION_CHARS)


def _utf16_units(part: str) -> int:
    return len(part.encode("utf-16-be")) // 2


@settings(max_examples=300, deadline=None)
@given(any_text, st.integers(0, 255), st.one_of(st.none(), st.integers(0, 65535)))
@example("€" * 200, 5, 300)
def test_submit_round_trip(text: str, mr: int, concat_ref: int | None) -> None:
    parts = encode_submit("+5511990000001", text, mr=mr, concat_ref=concat_ref)
    decoded = [decode_pdu(part.pdu) for part in parts]
    assert all(isinstance(item, Submit) for item in decoded)
    submits = [item for item in decoded if isinstance(item, Submit)]
    assert "".join(item.text or "" for item in submits) == text
    assert [item.mr for item in submits] == [(mr + i) % 256 for i in range(len(parts))]
    for part in parts:
        assert part.tpdu_length == len(part.pdu) // 2 - 1
        assert part.pdu == part.pdu.upper()
        assert part.tpdu_length <= 164
    if len(parts) > 1:
        expected_ref = mr if concat_ref is None else concat_ref
        assert [item.concat for item in submits] == [
            Concat(expected_ref, len(parts), seq) for seq in range(1, len(parts) + 1)
        ]
    else:
        assert submits[0].concat is None


@settings(max_examples=200, deadline=None)
@given(
    any_text,
    st.one_of(st.just("+4915259911630"), st.just("0129998765"), st.just("MyBank")),
    st.integers(-79, 79),
)
def test_deliver_round_trip(text: str, sender: str, quarter_hours: int) -> None:
    stamp = datetime(2024, 3, 9, 8, 7, 6, tzinfo=timezone(timedelta(minutes=15 * quarter_hours)))
    parts = encode_deliver(sender, text, scts=stamp, smsc="+5511999999999")
    decoded = [decode_pdu(part.pdu) for part in parts]
    delivers = [item for item in decoded if isinstance(item, Deliver)]
    assert len(delivers) == len(parts)
    assert "".join(item.text or "" for item in delivers) == text
    assert {item.sender for item in delivers} == {sender}
    assert {item.smsc for item in delivers} == {"+5511999999999"}
    assert all(
        item.scts == stamp and item.scts.utcoffset() == stamp.utcoffset()
        for item in delivers
        if item.scts is not None
    )


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_split_invariants(text: str) -> None:
    encoding, parts = split_text(text)
    assert encoding == choose_encoding(text)
    assert "".join(parts) == text
    measure = _septets if encoding == "gsm7" else _utf16_units
    single, multi = (160, 153) if encoding == "gsm7" else (70, 67)
    if len(parts) == 1:
        assert measure(parts[0]) <= single
    else:
        assert measure(text) > single
        assert all(0 < measure(part) <= multi for part in parts)
        # greedy: a part ends only where the next character no longer fits
        for part, following in itertools.pairwise(parts):
            assert measure(part + following[0]) > multi
    info = segment_info(text)
    assert (info.encoding, info.segments) == (encoding, len(parts))
    assert info.units == measure(text)
    assert info.remaining == info.units_per_segment - measure(parts[-1])


def test_a_part_never_ends_inside_an_escape_pair() -> None:
    text = "a" * 152 + "€" + "b" * 10
    _, parts = split_text(text)
    assert parts == ["a" * 152, "€" + "b" * 10]


def test_a_part_never_ends_inside_a_surrogate_pair() -> None:
    text = "a" * 66 + "😀" + "b" * 10
    _, parts = split_text(text)
    assert parts == ["a" * 66, "😀" + "b" * 10]


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("ł" * 70, 1),
        ("ł" * 71, 2),
        ("😀" * 35, 1),
        ("😀" * 36, 2),
        ("a" * 153 * 255, 255),
    ],
)
def test_segment_counts(text: str, segments: int) -> None:
    assert len(split_text(text)[1]) == segments
    assert segment_info(text).segments == segments


def test_text_too_long_beyond_255_parts() -> None:
    with pytest.raises(TextTooLong, match="256"):
        split_text("a" * (153 * 255 + 1))
    with pytest.raises(TextTooLong):
        encode_submit("+1", "ł" * (67 * 255 + 1))
    assert segment_info("a" * (153 * 255 + 1)).segments == 256  # counters never raise


def test_sixteen_bit_reference_parts_are_one_unit_smaller() -> None:
    # oFono test_prepare_limits: 255 * 152 septets / 255 * 66 UCS-2 with 16-bit references
    assert len(encode_submit("+1", "A" * 255 * 152, concat_ref=300)) == 255
    with pytest.raises(TextTooLong):
        encode_submit("+1", "A" * (255 * 152 + 1), concat_ref=300)
    assert len(encode_submit("+1", "Ж" * 255 * 66, concat_ref=300)) == 255
    assert len(encode_submit("+1", "A" * 255 * 153, concat_ref=7)) == 255


def test_forced_encodings() -> None:
    assert split_text("abc", "ucs2") == ("ucs2", ["abc"])
    with pytest.raises(ValueError, match="GSM 7-bit"):
        split_text("ł", "gsm7")
    with pytest.raises(ValueError, match="unknown encoding"):
        split_text("a", "latin1")


def test_flash_dcs_values() -> None:
    gsm = decode_pdu(encode_submit("+1", "hi", flash=True)[0].pdu)
    ucs = decode_pdu(encode_submit("+1", "hi", flash=True, encoding="ucs2")[0].pdu)
    assert (getattr(gsm, "dcs", None), getattr(ucs, "dcs", None)) == (0x10, 0x18)
    assert getattr(gsm, "message_class", None) == 0


def test_submit_flags() -> None:
    pdu = encode_submit(
        "0129998765", "x", mr=9, status_report=True, reject_duplicates=True, validity_minutes=60
    )[0].pdu
    decoded = decode_pdu(pdu)
    assert isinstance(decoded, Submit)
    assert decoded.recipient == "0129998765"
    assert pdu[2:4] == "35"  # SUBMIT | RD | VPF relative | SRR
    assert decoded.mr == 9
    assert decoded.status_report_requested and decoded.reject_duplicates
    assert decoded.validity_minutes == 60


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mr": 256}, "message reference"),
        ({"mr": -1}, "message reference"),
        ({"concat_ref": 65536}, "concat ref"),
        ({"validity_minutes": 0}, "validity"),
        ({"smsc": "abc"}, "SMSC"),
    ],
)
def test_encode_submit_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_submit("+1", "x", **kwargs)  # type: ignore[arg-type]


def test_deliver_without_concat_ref_gets_a_stable_reference() -> None:
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    first = encode_deliver("+1", "z" * 400, scts=stamp)
    again = encode_deliver("+1", "z" * 400, scts=stamp)
    assert first == again and len(first) == 3
