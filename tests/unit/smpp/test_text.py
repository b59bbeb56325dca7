"""Text in SMPP messages: reading short_message / message_payload by data_coding, user data
headers and sar_* TLVs as one Concat, and text written into deliver_sm parts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.smpp import (
    ESM_UDHI,
    CommandStatus,
    DataSm,
    DeliverSm,
    MessageContent,
    SubmitMulti,
    SubmitSm,
    Tag,
    TextError,
    Tlv,
    decode,
    decode_text,
    encode,
    encode_text,
    message_content,
    split_udh,
)
from gatewayd.sms import Concat, TextTooLong
from gatewayd.sms.gsm7 import GSM7_CHARS

S = CommandStatus


@pytest.mark.parametrize(
    ("data", "data_coding", "text"),
    [
        (b"Hello", 0, "Hello"),
        (b"\x00\x02\x11 \x1b\x65\x1b\x3c", 0, "@$_ €["),  # GSM: not ASCII for @ $ _
        (b"HELLO\x00", 0xF2, "HELLO@"),  # class 2, default alphabet
        (b"plain ascii ~", 1, "plain ascii ~"),
        (b"caf\xe9", 3, "café"),
        ("Привет".encode("iso8859_5"), 6, "Привет"),
        ("שלום".encode("iso8859_8"), 7, "שלום"),
        ("olá 😀".encode("utf-16-be"), 8, "olá 😀"),
        (b"", 8, ""),
    ],
)
def test_text_by_data_coding(data: bytes, data_coding: int, text: str) -> None:
    assert decode_text(data, data_coding) == text


def test_latin1_default_alphabet_option() -> None:
    assert decode_text(b"caf\xe9 @", 0, default_alphabet="latin1") == "café @"
    assert decode_text(b"\x00", 0xF0, default_alphabet="latin1") == "@"  # only 0 is switched


@pytest.mark.parametrize(
    ("data", "data_coding", "status", "message"),
    [
        (b"caf\xe9", 0, S.ESME_RSUBMITFAIL, "octet 0xE9 at 3 is not a GSM 7-bit septet"),
        (b"\x80", 0xF1, S.ESME_RSUBMITFAIL, "not a GSM 7-bit septet"),
        (b"caf\xe9", 1, S.ESME_RSUBMITFAIL, "octets e9 at 3 are not valid in data_coding 0x01"),
        (b"\x00h\x00", 8, S.ESME_RINVMSGLEN, "odd length 3"),
        (b"\xd8\x3d\x00a", 8, S.ESME_RSUBMITFAIL, "not valid in data_coding 0x08"),
        (b"\xbf", 7, S.ESME_RSUBMITFAIL, "not valid in data_coding 0x07"),
        (b"\x01\x02", 2, S.ESME_RSUBMITFAIL, "binary data"),
        (b"\x01\x02", 4, S.ESME_RSUBMITFAIL, "binary data"),
        (b"\x01\x02", 0xF5, S.ESME_RSUBMITFAIL, "binary data"),
        (b"abc", 5, S.ESME_RSUBMITFAIL, "data_coding 0x05 is not supported"),
        (b"abc", 0x0E, S.ESME_RSUBMITFAIL, "not supported"),
        (b"abc", 0x18, S.ESME_RSUBMITFAIL, "not supported"),
    ],
)
def test_text_not_valid_in_its_data_coding(
    data: bytes, data_coding: int, status: CommandStatus, message: str
) -> None:
    with pytest.raises(TextError, match=message) as raised:
        decode_text(data, data_coding)
    assert raised.value.status == status


def test_split_udh() -> None:
    assert split_udh(b"\x05\x00\x03\x07\x02\x01hello") == (b"\x05\x00\x03\x07\x02\x01", b"hello")
    with pytest.raises(TextError, match="message is empty") as empty:
        split_udh(b"")
    with pytest.raises(TextError, match="header of 9 octets in a message of 4") as long:
        split_udh(b"\x09\x00\x03\x07")
    assert empty.value.status == long.value.status == S.ESME_RINVMSGLEN


def submit(
    short_message: bytes, *, esm_class: int = 0, data_coding: int = 0, tlvs: tuple[Tlv, ...] = ()
) -> SubmitSm:
    return SubmitSm(
        sequence_number=1,
        destination_addr="5511",
        esm_class=esm_class,
        data_coding=data_coding,
        short_message=short_message,
        tlvs=tlvs,
    )


def test_content_with_8bit_concatenation_header() -> None:
    content = message_content(submit(b"\x05\x00\x03\x2a\x03\x02part two", esm_class=0x40))
    header = b"\x05\x00\x03\x2a\x03\x02"
    assert content == MessageContent("part two", b"part two", Concat(0x2A, 3, 2), header)


def test_content_with_16bit_concatenation_header_in_ucs2() -> None:
    octets = b"\x06\x08\x04\x12\x34\x02\x01" + "Ж".encode("utf-16-be")
    content = message_content(submit(octets, esm_class=0x40, data_coding=8))
    assert (content.text, content.concat) == ("Ж", Concat(0x1234, 2, 1))


def test_header_without_concatenation() -> None:
    """SMPP_PDU (jookies/jasmin jasmin/vendor/smpp/pdu/tests/test_pdu_encoding.py
    @ 29f4222be5232c6323c53a6844bbaca58ae12c6a) test_SubmitSM_ringtone_conversion: a port
    addressing header (IEI 0x05) over 8-bit data, class 1."""
    frame = bytes.fromhex(
        "000000a900000004000000000006f3910005006d6f62696c65776179000101333336393830393334320040"
        "000000000100f5007506050415811581024a3a5db5a5cdcda5bdb8040084d8c51381481381481381481381"
        "481381381481581681781881881061881061b81081181081881061881061681081781081881061881061b8"
        "1081181081881061881061681081781081b81881321081b81881221081b818811210824dc1446000"
    )
    pdu = decode(frame)
    assert isinstance(pdu, SubmitSm) and pdu.esm_class == ESM_UDHI and pdu.data_coding == 0xF5
    header, rest = split_udh(pdu.short_message)
    assert header == bytes.fromhex("06050415811581") and len(rest) == 0x75 - 7
    with pytest.raises(TextError, match="binary data"):
        message_content(pdu)


def test_concatenation_element_with_part_zero_is_ignored() -> None:
    content = message_content(submit(b"\x05\x00\x03\x01\x02\x00hi", esm_class=0x40))
    assert (content.text, content.concat) == ("hi", None)


def test_header_with_an_element_past_its_end() -> None:
    with pytest.raises(TextError, match="needs 3 octets") as raised:
        message_content(submit(b"\x03\x00\x03\x01hi", esm_class=0x40))
    assert raised.value.status == S.ESME_RINVMSGLEN


SAR = (
    Tlv.u16(Tag.SAR_MSG_REF_NUM, 0x0102),
    Tlv.u8(Tag.SAR_TOTAL_SEGMENTS, 2),
    Tlv.u8(Tag.SAR_SEGMENT_SEQNUM, 2),
)


def test_content_with_sar_tlvs() -> None:
    content = message_content(submit(b"second", tlvs=SAR))
    assert (content.text, content.concat, content.udh) == ("second", Concat(0x0102, 2, 2), b"")


def test_header_wins_over_sar_tlvs() -> None:
    content = message_content(submit(b"\x05\x00\x03\x09\x04\x03x", esm_class=0x40, tlvs=SAR))
    assert content.concat == Concat(9, 4, 3)


@pytest.mark.parametrize(
    ("tlvs", "status"),
    [
        (SAR[:2], S.ESME_RMISSINGOPTPARAM),
        (SAR[1:], S.ESME_RMISSINGOPTPARAM),
        ((SAR[0], SAR[1], Tlv.u8(Tag.SAR_SEGMENT_SEQNUM, 0)), S.ESME_RINVOPTPARAMVAL),
        ((SAR[0], SAR[1], Tlv.u8(Tag.SAR_SEGMENT_SEQNUM, 3)), S.ESME_RINVOPTPARAMVAL),
    ],
)
def test_broken_sar_tlvs(tlvs: tuple[Tlv, ...], status: CommandStatus) -> None:
    with pytest.raises(TextError) as raised:
        message_content(submit(b"x", tlvs=tlvs))
    assert raised.value.status == status


def test_message_payload_instead_of_short_message() -> None:
    text = "long " * 100
    pdu = submit(b"", tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, text.encode()),))
    assert message_content(pdu).text == text
    data_sm = DataSm(
        sequence_number=1, data_coding=8, tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, "ñ".encode("utf-16-be")),)
    )
    assert message_content(data_sm).text == "ñ"
    assert message_content(DataSm(sequence_number=1)).text == ""


def test_message_payload_with_a_short_message_is_refused() -> None:
    pdu = submit(b"short", tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, b"long"),))
    with pytest.raises(TextError, match="not allowed") as raised:
        message_content(pdu)
    assert raised.value.status == S.ESME_ROPTPARNOTALLWD


def test_submit_multi_content() -> None:
    pdu = SubmitMulti(sequence_number=1, data_coding=3, short_message=b"ol\xe1")
    assert message_content(pdu).text == "olá"


# --- text to deliver_sm parts -------------------------------------------------------------


def test_short_gsm_text_is_one_part() -> None:
    encoded = encode_text("Hi @ €")
    assert encoded.data_coding == 0
    assert [(p.short_message, p.esm_class, p.tlvs) for p in encoded.parts] == [
        (b"Hi \x00 \x1b\x65", 0, ())
    ]


def test_long_gsm_text_gets_8bit_headers() -> None:
    encoded = encode_text("a" * 161, concat_ref=7)
    assert encoded.data_coding == 0
    first, second = encoded.parts
    assert first.short_message == b"\x05\x00\x03\x07\x02\x01" + b"a" * 153
    assert second.short_message == b"\x05\x00\x03\x07\x02\x02" + b"a" * 8
    assert first.esm_class == second.esm_class == ESM_UDHI


def test_ucs2_text_with_16bit_reference() -> None:
    encoded = encode_text("Ж" * 71, concat_ref=0x1234)
    assert encoded.data_coding == 8
    assert [len(p.short_message) for p in encoded.parts] == [7 + 2 * 66, 7 + 2 * 5]
    assert encoded.parts[0].short_message[:7] == b"\x06\x08\x04\x12\x34\x02\x01"


def test_sar_concatenation() -> None:
    encoded = encode_text("b" * 200, concat_ref=0x0102, concatenation="sar")
    assert [p.esm_class for p in encoded.parts] == [0, 0]
    assert encoded.parts[1].tlvs == (
        Tlv(Tag.SAR_MSG_REF_NUM, b"\x01\x02"),
        Tlv(Tag.SAR_TOTAL_SEGMENTS, b"\x02"),
        Tlv(Tag.SAR_SEGMENT_SEQNUM, b"\x02"),
    )
    # The SMSC writes a 16-bit reference header for 0x0102 (7 octets): 152 septets are left.
    assert encoded.parts[0].short_message == b"b" * 152


def test_payload_concatenation() -> None:
    encoded = encode_text("é" * 500 + "😀", concatenation="payload")
    (part,) = encoded.parts
    assert encoded.data_coding == 8 and part.short_message == b""
    assert part.tlvs == (Tlv(Tag.MESSAGE_PAYLOAD, ("é" * 500 + "😀").encode("utf-16-be")),)


def test_latin1_default_alphabet_when_writing() -> None:
    assert encode_text("café", default_alphabet="latin1").parts[0].short_message == b"caf\xe9"
    greek = encode_text("ΔΣ", default_alphabet="latin1")  # GSM has them, Latin-1 does not
    assert greek.data_coding == 8


def test_too_long_and_bad_reference() -> None:
    with pytest.raises(TextTooLong):
        encode_text("x" * 153 * 256)
    with pytest.raises(ValueError, match=r"outside 0\.\.65535"):
        encode_text("x", concat_ref=70000)


texts = st.one_of(
    st.text(max_size=400),
    st.text(alphabet="".join(sorted(GSM7_CHARS)), max_size=700),
    st.text(alphabet="a€{😀Ж", max_size=300),
)


@settings(max_examples=300, deadline=None)
@given(
    texts,
    st.integers(0, 0xFFFF),
    st.sampled_from(["udh", "sar", "payload"]),
    st.sampled_from(["gsm", "latin1"]),
)
def test_written_parts_read_back_as_the_text(
    text: str, ref: int, concatenation: str, default_alphabet: str
) -> None:
    encoded = encode_text(
        text,
        concat_ref=ref,
        concatenation=concatenation,  # type: ignore[arg-type]
        default_alphabet=default_alphabet,  # type: ignore[arg-type]
    )
    pieces = []
    for seq, part in enumerate(encoded.parts, start=1):
        pdu = DeliverSm(
            sequence_number=seq,
            esm_class=part.esm_class,
            data_coding=encoded.data_coding,
            short_message=part.short_message,
            tlvs=part.tlvs,
        )
        decoded = decode(encode(pdu))
        assert isinstance(decoded, DeliverSm)
        content = message_content(decoded, default_alphabet=default_alphabet)  # type: ignore[arg-type]
        if len(encoded.parts) > 1:
            assert content.concat == Concat(ref, len(encoded.parts), seq)
        assert len(part.short_message) <= 140 or concatenation == "payload"
        pieces.append(content.text)
    assert "".join(pieces) == text
