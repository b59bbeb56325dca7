"""Decoded TPDUs and the decoder that picks SMS-DELIVER, SMS-SUBMIT or SMS-STATUS-REPORT by TP-MTI.

Decoding is total: whatever the input, :func:`decode_pdu` returns one of the three dataclasses
or raises :class:`PduError` with a one-line reason. Octets after the user data are tolerated
(some modems pad); user data shorter than TP-UDL announces is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from gatewayd.sms import gsm7
from gatewayd.sms.address import decode_address, decode_smsc
from gatewayd.sms.dcs import UserDataEncoding, describe_dcs
from gatewayd.sms.errors import PduError
from gatewayd.sms.reader import OctetReader
from gatewayd.sms.timestamps import TIMESTAMP_OCTETS, decode_timestamp
from gatewayd.sms.ucs2 import ucs2_to_text
from gatewayd.sms.udh import Concat, parse_udh
from gatewayd.sms.validity import vp_minutes

DeliveryState = Literal["delivered", "pending", "failed"]


@dataclass(frozen=True, slots=True)
class Deliver:
    """An SMS-DELIVER: a message the network hands to a phone."""

    message_type: ClassVar[str] = "deliver"
    smsc: str | None
    sender: str
    pid: int
    dcs: int
    encoding: UserDataEncoding
    message_class: int | None
    scts: datetime | None
    concat: Concat | None
    text: str | None
    data: bytes | None
    status_report_indication: bool
    tpdu_length: int


@dataclass(frozen=True, slots=True)
class Submit:
    """An SMS-SUBMIT: a message a phone hands to the network."""

    message_type: ClassVar[str] = "submit"
    smsc: str | None
    recipient: str
    mr: int
    pid: int
    dcs: int
    encoding: UserDataEncoding
    message_class: int | None
    status_report_requested: bool
    reject_duplicates: bool
    validity_minutes: int | None
    concat: Concat | None
    text: str | None
    data: bytes | None
    tpdu_length: int


@dataclass(frozen=True, slots=True)
class StatusReport:
    """An SMS-STATUS-REPORT: the fate of an earlier submit, matched to it by ``mr``."""

    message_type: ClassVar[str] = "status_report"
    smsc: str | None
    recipient: str
    mr: int
    scts: datetime | None
    discharge_time: datetime | None
    status: int
    state: DeliveryState
    tpdu_length: int


Decoded = Deliver | Submit | StatusReport

_VALIDITY_FIELD_OCTETS = (0, 7, 1, 7)  # by TP-VPF: none, enhanced, relative, absolute


def delivery_state(status: int) -> DeliveryState:
    """TP-ST in three words: completed, still being tried, or given up (TS 23.040 §9.2.3.15)."""
    if status < 0x20:
        return "delivered"
    if status < 0x40:
        return "pending"
    return "failed"


def _to_octets(pdu: str | bytes) -> bytes:
    if isinstance(pdu, bytes | bytearray | memoryview):
        return bytes(pdu)
    if not isinstance(pdu, str):
        raise PduError(f"PDU must be a hex string or bytes, not {type(pdu).__name__}")
    cleaned = pdu.strip()
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        compact = "".join(cleaned.split())
        if all(char in "0123456789abcdefABCDEF" for char in compact) and len(compact) % 2:
            raise PduError(f"odd number of hex digits ({len(compact)})") from None
        raise PduError("PDU is not hexadecimal") from None


def _read_user_data(
    reader: OctetReader, encoding: UserDataEncoding, has_header: bool
) -> tuple[Concat | None, str | None, bytes | None]:
    length = reader.octet("user data length")
    if encoding == "gsm7":
        user_data = reader.take((length * 7 + 7) // 8, f"user data ({length} septets)")
    else:
        user_data = reader.take(length, "user data")
    header_octets = 0
    concat = None
    if has_header:
        if not user_data:
            raise PduError("bad user data header: header indicated but user data is empty")
        header_octets = user_data[0] + 1
        if header_octets > len(user_data):
            raise PduError(
                f"bad user data header: length {header_octets - 1} exceeds the user data"
            )
        concat = parse_udh(user_data[1:header_octets])
    if encoding == "gsm7":
        header_septets = (header_octets * 8 + 6) // 7
        if header_septets > length:
            raise PduError("bad user data header: longer than the user data length")
        septets = gsm7.unpack_septets(user_data, length)[header_septets:]
        return concat, gsm7.septets_to_text(septets), None
    payload = user_data[header_octets:]
    if encoding == "ucs2":
        return concat, ucs2_to_text(payload), None
    return concat, None, payload


def _decode_deliver(reader: OctetReader, first: int, smsc: str | None, tpdu: int) -> Deliver:
    sender = decode_address(reader, "originating address")
    pid = reader.octet("protocol identifier")
    dcs = reader.octet("data coding scheme")
    scts = decode_timestamp(reader.take(TIMESTAMP_OCTETS, "service centre time stamp"))
    encoding, message_class = describe_dcs(dcs)
    concat, text, data = _read_user_data(reader, encoding, bool(first & 0x40))
    return Deliver(
        smsc,
        sender,
        pid,
        dcs,
        encoding,
        message_class,
        scts,
        concat,
        text,
        data,
        bool(first & 0x20),
        tpdu,
    )


def _decode_submit(reader: OctetReader, first: int, smsc: str | None, tpdu: int) -> Submit:
    mr = reader.octet("message reference")
    recipient = decode_address(reader, "destination address")
    pid = reader.octet("protocol identifier")
    dcs = reader.octet("data coding scheme")
    validity_format = (first >> 3) & 0x03
    validity = reader.take(_VALIDITY_FIELD_OCTETS[validity_format], "validity period")
    validity_minutes = vp_minutes(validity[0]) if validity_format == 2 else None
    encoding, message_class = describe_dcs(dcs)
    concat, text, data = _read_user_data(reader, encoding, bool(first & 0x40))
    return Submit(
        smsc,
        recipient,
        mr,
        pid,
        dcs,
        encoding,
        message_class,
        bool(first & 0x20),
        bool(first & 0x04),
        validity_minutes,
        concat,
        text,
        data,
        tpdu,
    )


def _decode_status_report(reader: OctetReader, smsc: str | None, tpdu: int) -> StatusReport:
    mr = reader.octet("message reference")
    recipient = decode_address(reader, "recipient address")
    scts = decode_timestamp(reader.take(TIMESTAMP_OCTETS, "service centre time stamp"))
    discharge = decode_timestamp(reader.take(TIMESTAMP_OCTETS, "discharge time"))
    status = reader.octet("status")
    return StatusReport(smsc, recipient, mr, scts, discharge, status, delivery_state(status), tpdu)


def decode_pdu(pdu: str | bytes, *, smsc: bool = True) -> Decoded:
    """Decode a PDU given as hex or raw octets; ``smsc=False`` when it has no SMSC field."""
    octets = _to_octets(pdu)
    if not octets:
        raise PduError("empty PDU")
    reader = OctetReader(octets)
    service_centre = decode_smsc(reader) if smsc else None
    tpdu_length = reader.remaining()
    first = reader.octet("first octet")
    message_type = first & 0x03
    if message_type == 0:
        return _decode_deliver(reader, first, service_centre, tpdu_length)
    if message_type == 1:
        return _decode_submit(reader, first, service_centre, tpdu_length)
    if message_type == 2:
        return _decode_status_report(reader, service_centre, tpdu_length)
    raise PduError("reserved message type indicator 3 (not a DELIVER, SUBMIT or STATUS-REPORT)")
