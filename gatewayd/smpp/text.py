"""Text in and out of SMPP messages: short_message / message_payload octets to ``str`` by
data_coding, the user data header and ``sar_*`` TLVs read as one :class:`Concat`, and text
encoded into deliver_sm parts.

Data codings read as text:

- 0 (SMSC default alphabet) and 0xF0-0xF3: GSM 03.38, one septet per octet (unpacked, as
  SMPP carries it); octets above 0x7F are refused. Some clients send Latin-1 under 0 instead:
  ``default_alphabet="latin1"`` reads (and writes) data_coding 0 as Latin-1 for them.
- 1 IA5 (ASCII), 3 Latin-1, 6 ISO-8859-5, 7 ISO-8859-8, 8 UCS-2 read as UTF-16BE (surrogate
  pairs included).

Concatenated messages: clients cut parts at fixed octet counts (smpplib does), which may split
a surrogate pair or a GSM escape pair between two parts. A part's own text is read with
``part=True`` (a pair cut at its edges is left out instead of refused); the message's text is
read from the parts' joined ``octets``.

Binary codings (2, 4, 0xF4-0xF7) and the others raise :class:`TextError`; every error carries
the status a server should answer (docs/smpp.md lists them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gatewayd.smpp.constants import ESM_UDHI, CommandStatus, DataCoding, Tag, has_udhi
from gatewayd.smpp.errors import TextError
from gatewayd.smpp.pdu import DataSm, DeliverSm, SubmitMulti, SubmitSm
from gatewayd.smpp.tlv import Tlv
from gatewayd.sms import Concat
from gatewayd.sms import PduError as SmsPduError
from gatewayd.sms.gsm7 import septets_to_text, text_to_septets
from gatewayd.sms.segment import choose_encoding, split_for_header
from gatewayd.sms.ucs2 import text_to_ucs2
from gatewayd.sms.udh import concat_udh, concat_udh_length, parse_udh

S = CommandStatus
DefaultAlphabet = Literal["gsm", "latin1"]
Concatenation = Literal["udh", "sar", "payload"]
MessagePdu = SubmitSm | DeliverSm | SubmitMulti | DataSm

# The status for text a data_coding cannot hold, and for codings that hold no text here.
INVALID_TEXT = S.ESME_RSUBMITFAIL
# The status for lengths that do not add up: odd UCS-2, a header longer than the message.
INVALID_LENGTH = S.ESME_RINVMSGLEN

_CODECS: dict[int, str] = {
    DataCoding.IA5: "ascii",
    DataCoding.LATIN1: "latin-1",
    DataCoding.CYRILLIC: "iso8859_5",
    DataCoding.LATIN_HEBREW: "iso8859_8",
}
_BINARY: frozenset[int] = frozenset({DataCoding.OCTET_UNSPECIFIED, DataCoding.OCTET_UNSPECIFIED_2})


def _is_gsm_coding(data_coding: int) -> bool:
    return data_coding == DataCoding.SMSC_DEFAULT or 0xF0 <= data_coding <= 0xF3


def decode_text(
    data: bytes, data_coding: int, *, default_alphabet: DefaultAlphabet = "gsm", part: bool = False
) -> str:
    """The text of ``data`` in ``data_coding``; TextError when it is not valid there.

    ``part=True``: ``data`` is one part of a concatenated message, and half a UCS-2 surrogate
    pair at either end is left out rather than refused.
    """
    if data_coding == DataCoding.SMSC_DEFAULT and default_alphabet == "latin1":
        return data.decode("latin-1")
    if _is_gsm_coding(data_coding):
        if not data.isascii():
            bad = next(index for index, octet in enumerate(data) if octet > 0x7F)
            raise TextError(
                INVALID_TEXT,
                f"octet 0x{data[bad]:02X} at {bad} is not a GSM 7-bit septet (data_coding "
                f"0x{data_coding:02X})",
            )
        return septets_to_text(data)
    if data_coding == DataCoding.UCS2:
        if len(data) % 2:
            raise TextError(INVALID_LENGTH, f"UCS-2 text of odd length {len(data)}")
        if part:
            data = _without_cut_surrogates(data)
        return _decode(data, "utf-16-be", data_coding)
    codec = _CODECS.get(data_coding)
    if codec is not None:
        return _decode(data, codec, data_coding)
    if data_coding in _BINARY or 0xF4 <= data_coding <= 0xF7:
        raise TextError(INVALID_TEXT, f"data_coding 0x{data_coding:02X} is binary data, not text")
    raise TextError(INVALID_TEXT, f"data_coding 0x{data_coding:02X} is not supported")


def _without_cut_surrogates(data: bytes) -> bytes:
    start = 2 if data[:1] and 0xDC <= data[0] <= 0xDF else 0
    end = len(data) - 2 if len(data) >= start + 2 and 0xD8 <= data[-2] <= 0xDB else len(data)
    return data[start:end]


def _decode(data: bytes, codec: str, data_coding: int) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        raise TextError(
            INVALID_TEXT,
            f"octets {data[error.start : error.end].hex()} at {error.start} are not valid "
            f"in data_coding 0x{data_coding:02X}",
        ) from None


def split_udh(short_message: bytes) -> tuple[bytes, bytes]:
    """``(header, rest)`` of a message whose esm_class has UDHI: the header with its UDHL
    octet, and the user data after it."""
    if not short_message:
        raise TextError(INVALID_LENGTH, "UDHI is set but the message is empty")
    end = 1 + short_message[0]
    if end > len(short_message):
        raise TextError(
            INVALID_LENGTH,
            f"user data header of {end - 1} octets in a message of {len(short_message)}",
        )
    return short_message[:end], short_message[end:]


def udh_concat(header: bytes) -> Concat | None:
    """Concatenation from a header (UDHL included): IEI 0x00 (8-bit reference) or 0x08
    (16-bit); an IE with part 0 or a part beyond the total is ignored, as TS 23.040 asks."""
    try:
        return parse_udh(header[1:])
    except SmsPduError as error:
        raise TextError(INVALID_LENGTH, str(error)) from None


def sar_concat(pdu: MessagePdu) -> Concat | None:
    """Concatenation from the three ``sar_*`` TLVs, None when none is there."""
    ref, total, seq = pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum
    if ref is None and total is None and seq is None:
        return None
    if ref is None or total is None or seq is None:
        raise TextError(
            S.ESME_RMISSINGOPTPARAM,
            "sar_msg_ref_num, sar_total_segments and sar_segment_seqnum come together",
        )
    if not 1 <= seq <= total:
        raise TextError(S.ESME_RINVOPTPARAMVAL, f"sar segment {seq} of {total}")
    return Concat(ref, total, seq)


@dataclass(frozen=True, slots=True)
class MessageContent:
    """What a submitted message says: its text, the user data it was read from (header
    excluded), its place in a concatenated message (from the user data header, else from the
    ``sar_*`` TLVs) and the header as sent (b"" when none).

    The text of one part of a concatenated message may lack a character cut between two
    parts: decode the parts' joined ``octets`` for the whole message's text.
    """

    text: str
    octets: bytes
    concat: Concat | None
    udh: bytes


def message_octets(pdu: MessagePdu) -> bytes:
    """short_message, or message_payload when short_message is empty; TextError when both
    carry octets (§5.3.2.32)."""
    payload = pdu.message_payload
    short_message = b"" if isinstance(pdu, DataSm) else pdu.short_message
    if payload is None:
        return short_message
    if short_message:
        raise TextError(
            S.ESME_ROPTPARNOTALLWD, "message_payload is not allowed with a short_message"
        )
    return payload


def message_content(
    pdu: MessagePdu, *, default_alphabet: DefaultAlphabet = "gsm"
) -> MessageContent:
    """Text, concatenation and header of a submit_sm, submit_multi, deliver_sm or data_sm."""
    octets = message_octets(pdu)
    header = b""
    concat = None
    if has_udhi(pdu.esm_class):
        header, octets = split_udh(octets)
        concat = udh_concat(header)
    concat = concat or sar_concat(pdu)
    text = decode_text(
        octets, pdu.data_coding, default_alphabet=default_alphabet, part=concat is not None
    )
    return MessageContent(text, octets, concat, header)


# --- text to deliver_sm parts -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextPart:
    """One deliver_sm's worth: its short_message, the esm_class bits it needs (UDHI when it
    starts with a header) and its TLVs (sar_* or message_payload)."""

    short_message: bytes
    esm_class: int
    tlvs: tuple[Tlv, ...]


@dataclass(frozen=True, slots=True)
class EncodedText:
    data_coding: int
    parts: tuple[TextPart, ...]


def encode_text(
    text: str,
    *,
    concat_ref: int = 0,
    concatenation: Concatenation = "udh",
    default_alphabet: DefaultAlphabet = "gsm",
) -> EncodedText:
    """``text`` as deliver_sm parts: data_coding 0 (GSM, unpacked) when the GSM alphabet
    holds it, else 8 (UCS-2); parts of 160/153 septets or 70/67 UCS-2 units.

    ``concatenation``: ``"udh"`` puts a concatenation header in each part (8-bit reference
    below 256, else 16-bit), ``"sar"`` the sar_* TLVs instead, ``"payload"`` sends the whole
    text in one ``message_payload``. With ``default_alphabet="latin1"`` data_coding 0 text is
    written as Latin-1 (text Latin-1 cannot hold goes as UCS-2). ValueError (``TextTooLong``)
    beyond 255 parts, or for a reference outside 0..65535.
    """
    if not 0 <= concat_ref <= 0xFFFF:
        raise ValueError(f"concatenation reference {concat_ref} outside 0..65535")
    encoding = choose_encoding(text)
    if encoding == "gsm7" and default_alphabet == "latin1" and not _latin1(text):
        encoding = "ucs2"
    if encoding == "ucs2":
        data_coding, to_octets = DataCoding.UCS2, text_to_ucs2
    elif default_alphabet == "latin1":
        data_coding, to_octets = DataCoding.SMSC_DEFAULT, _latin1_octets
    else:
        data_coding, to_octets = DataCoding.SMSC_DEFAULT, text_to_septets
    if concatenation == "payload":
        payload = to_octets(text)
        if len(payload) > 0xFFFF:
            raise ValueError(f"text of {len(payload)} octets does not fit in message_payload")
        return EncodedText(data_coding, (TextPart(b"", 0, (Tlv(Tag.MESSAGE_PAYLOAD, payload),)),))
    _, pieces = split_for_header(text, encoding, header_octets=concat_udh_length(concat_ref))
    total = len(pieces)
    if total == 1:
        return EncodedText(data_coding, (TextPart(to_octets(text), 0, ()),))
    parts = []
    for seq, piece in enumerate(pieces, start=1):
        octets = to_octets(piece)
        if concatenation == "sar":
            tlvs = (
                Tlv.u16(Tag.SAR_MSG_REF_NUM, concat_ref),
                Tlv.u8(Tag.SAR_TOTAL_SEGMENTS, total),
                Tlv.u8(Tag.SAR_SEGMENT_SEQNUM, seq),
            )
            parts.append(TextPart(octets, 0, tlvs))
        else:
            parts.append(TextPart(concat_udh(concat_ref, total, seq) + octets, ESM_UDHI, ()))
    return EncodedText(data_coding, tuple(parts))


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _latin1_octets(text: str) -> bytes:
    return text.encode("latin-1")
