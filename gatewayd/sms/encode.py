"""Encoders: SMS-SUBMIT (what the gateway sends), SMS-DELIVER and SMS-STATUS-REPORT (what a
network hands a modem, for the simulator).

Every PDU is uppercase hex with its SMSC field in front (``00``: the SIM's SMSC), alongside the
TPDU length ``AT+CMGS=<n>`` wants. Input mistakes raise ValueError with a one-line reason;
a text needing more than 255 parts raises :class:`TextTooLong`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime

from gatewayd.sms import gsm7
from gatewayd.sms.address import encode_address, encode_smsc
from gatewayd.sms.dcs import dcs_for
from gatewayd.sms.segment import Encoding, fit_one_part, part_capacity, split_for_header
from gatewayd.sms.timestamps import encode_timestamp
from gatewayd.sms.ucs2 import text_to_ucs2
from gatewayd.sms.udh import MAX_CONCAT_REF, Concat, concat_udh, concat_udh_length
from gatewayd.sms.validity import relative_vp

_SUBMIT = 0x01
_DELIVER_NO_MORE_MESSAGES = 0x04
_STATUS_REPORT_NO_MORE_MESSAGES = 0x06
_REJECT_DUPLICATES = 0x04
_VALIDITY_RELATIVE = 0x10
_STATUS_REPORT_REQUEST = 0x20
_HEADER_PRESENT = 0x40
_GSM7_ALLOWED = frozenset(("auto", "gsm7"))
_SINGLE_GSM7_SEPTETS = part_capacity("gsm7", 0)


@dataclass(frozen=True, slots=True)
class EncodedPart:
    """One PDU as uppercase hex including the SMSC field, and its TPDU length for AT+CMGS."""

    pdu: str
    tpdu_length: int


def _user_data(text: str, encoding: Encoding, header: bytes) -> bytes:
    """TP-UDL followed by TP-UD (header, fill bits, then the text)."""
    if encoding == "ucs2":
        user_data = header + text_to_ucs2(text)
        return bytes((len(user_data),)) + user_data
    septets = gsm7.text_to_septets(text)
    header_septets = (len(header) * 8 + 6) // 7
    fill_bits = header_septets * 7 - len(header) * 8
    packed = gsm7.pack_septets(septets, fill_bits)
    return bytes((header_septets + len(septets),)) + header + packed


def _single_gsm7_user_data(text: str) -> bytes | None:
    """TP-UDL and TP-UD of ``text`` as the one GSM-7 part without a header that the general
    path (:func:`split_for_header`, :func:`_user_data`) would give, the usual case; None when
    the text needs UCS-2 or more than one part, which the general path decides."""
    if not gsm7.GSM7_CHARS.issuperset(text):
        return None
    septets = gsm7.text_to_septets(text)
    if len(septets) > _SINGLE_GSM7_SEPTETS:
        return None
    return bytes((len(septets),)) + gsm7.pack_septets(septets)


def _check_range(value: int, low: int, high: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, not {value!r}")
    return value


def _split_with_refs(
    text: str, encoding: str, concat_ref: int
) -> tuple[Encoding, list[tuple[str, bytes]]]:
    chosen, parts = split_for_header(text, encoding, header_octets=concat_udh_length(concat_ref))
    if len(parts) == 1:
        return chosen, [(parts[0], b"")]
    total = len(parts)
    return chosen, [
        (part, concat_udh(concat_ref, total, seq)) for seq, part in enumerate(parts, start=1)
    ]


def _given_part(
    text: str, encoding: str, concat: Concat
) -> tuple[Encoding, list[tuple[str, bytes]]]:
    """``text`` as the one part ``concat`` names, with that concatenation header."""
    _check_range(concat.ref, 0, MAX_CONCAT_REF, "concat ref")
    _check_range(concat.total, 1, 255, "concat total")
    _check_range(concat.seq, 1, concat.total, "concat seq")
    header = concat_udh(concat.ref, concat.total, concat.seq)
    return fit_one_part(text, encoding, header_octets=len(header)), [(text, header)]


def _encoded(smsc_field: bytes, tpdu: bytes) -> EncodedPart:
    return EncodedPart((smsc_field + tpdu).hex().upper(), len(tpdu))


def encode_submit(
    recipient: str,
    text: str,
    *,
    mr: int = 0,
    status_report: bool = False,
    flash: bool = False,
    encoding: str = "auto",
    concat_ref: int | None = None,
    reject_duplicates: bool = False,
    validity_minutes: int | None = None,
    smsc: str | None = None,
    part_of: Concat | None = None,
) -> list[EncodedPart]:
    """SMS-SUBMIT PDUs for ``text``; several, with concatenation headers, when it is long.

    Part ``i`` (0-based) carries TP-MR ``(mr + i) % 256``. The concatenation reference is
    ``concat_ref`` or, when None, ``mr``; below 256 it is written as an 8-bit reference,
    otherwise as a 16-bit one.

    With ``part_of``, ``text`` is one part of a message its sender split itself: one PDU
    carrying that concatenation header (the recipient's phone joins the parts), or
    :class:`TextTooLong` when the text does not fit one part beside it.
    """
    _check_range(mr, 0, 255, "message reference")
    ref = mr if concat_ref is None else _check_range(concat_ref, 0, MAX_CONCAT_REF, "concat ref")
    destination = encode_address(recipient, role="recipient")
    smsc_field = encode_smsc(smsc)
    validity = b"" if validity_minutes is None else bytes((relative_vp(validity_minutes),))
    single = _single_gsm7_user_data(text) if part_of is None and encoding in _GSM7_ALLOWED else None
    if single is not None:
        chosen: Encoding = "gsm7"
        parts: list[tuple[str, bytes]] = []
    elif part_of is None:
        chosen, parts = _split_with_refs(text, encoding, ref)
    else:
        chosen, parts = _given_part(text, encoding, part_of)
    first = _SUBMIT
    if reject_duplicates:
        first |= _REJECT_DUPLICATES
    if validity:
        first |= _VALIDITY_RELATIVE
    if status_report:
        first |= _STATUS_REPORT_REQUEST
    dcs = dcs_for(chosen, flash=flash)
    if single is not None:
        tpdu = b"".join((bytes((first, mr)), destination, bytes((0x00, dcs)), validity, single))
        return [_encoded(smsc_field, tpdu)]
    encoded: list[EncodedPart] = []
    for index, (part, header) in enumerate(parts):
        first_octet = first | (_HEADER_PRESENT if header else 0)
        tpdu = b"".join(
            (
                bytes((first_octet, (mr + index) % 256)),
                destination,
                bytes((0x00, dcs)),
                validity,
                _user_data(part, chosen, header),
            )
        )
        encoded.append(_encoded(smsc_field, tpdu))
    return encoded


def encode_deliver(
    sender: str,
    text: str,
    *,
    scts: datetime,
    smsc: str | None = None,
    encoding: str = "auto",
    concat_ref: int | None = None,
    flash: bool = False,
) -> list[EncodedPart]:
    """SMS-DELIVER PDUs as a network hands them to a modem; ``sender`` may be alphanumeric.

    Without ``concat_ref`` a long text gets a reference derived from sender and text.
    """
    originator = encode_address(sender, role="sender", allow_alphanumeric=True)
    smsc_field = encode_smsc(smsc)
    stamp = encode_timestamp(scts)
    if concat_ref is None:
        ref = zlib.crc32(f"{sender}\x00{text}".encode("utf-8", "surrogatepass")) & 0xFF
    else:
        ref = _check_range(concat_ref, 0, MAX_CONCAT_REF, "concat ref")
    chosen, parts = _split_with_refs(text, encoding, ref)
    dcs = dcs_for(chosen, flash=flash)
    encoded: list[EncodedPart] = []
    for part, header in parts:
        first_octet = _DELIVER_NO_MORE_MESSAGES | (_HEADER_PRESENT if header else 0)
        tpdu = b"".join(
            (
                bytes((first_octet,)),
                originator,
                bytes((0x00, dcs)),
                stamp,
                _user_data(part, chosen, header),
            )
        )
        encoded.append(_encoded(smsc_field, tpdu))
    return encoded


def encode_status_report(
    recipient: str,
    mr: int,
    *,
    scts: datetime,
    discharge_time: datetime,
    status: int,
    smsc: str | None = None,
) -> EncodedPart:
    """An SMS-STATUS-REPORT for the submit numbered ``mr`` to ``recipient``."""
    _check_range(mr, 0, 255, "message reference")
    _check_range(status, 0, 255, "status")
    tpdu = b"".join(
        (
            bytes((_STATUS_REPORT_NO_MORE_MESSAGES, mr)),
            encode_address(recipient, role="recipient"),
            encode_timestamp(scts),
            encode_timestamp(discharge_time),
            bytes((status,)),
        )
    )
    return _encoded(encode_smsc(smsc), tpdu)
