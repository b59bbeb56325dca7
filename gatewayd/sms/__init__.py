"""The SMS PDU codec: GSM-7 / UCS-2 text, TP addresses, time stamps, concatenation, and the
SMS-DELIVER, SMS-SUBMIT and SMS-STATUS-REPORT TPDUs. Pure functions, no I/O.

Everything other layers use is importable from here; see docs/architecture.md.
"""

from __future__ import annotations

from gatewayd.sms.encode import EncodedPart, encode_deliver, encode_status_report, encode_submit
from gatewayd.sms.errors import PduError, TextTooLong
from gatewayd.sms.json_view import pdu_to_json
from gatewayd.sms.pdu import Decoded, Deliver, StatusReport, Submit, decode_pdu, delivery_state
from gatewayd.sms.segment import MAX_PARTS, SegmentInfo, choose_encoding, segment_info, split_text
from gatewayd.sms.udh import Concat

__all__ = [
    "MAX_PARTS",
    "Concat",
    "Decoded",
    "Deliver",
    "EncodedPart",
    "PduError",
    "SegmentInfo",
    "StatusReport",
    "Submit",
    "TextTooLong",
    "choose_encoding",
    "decode_pdu",
    "delivery_state",
    "encode_deliver",
    "encode_status_report",
    "encode_submit",
    "pdu_to_json",
    "segment_info",
    "split_text",
]
