"""Text-mode (AT+CMGF=1) renderings of stored and unsolicited messages, per 3GPP TS 27.005.

PDU mode is what the peers use; text mode is here so that a client falling back to it gets
well-formed answers: ``+CMT``, ``+CMGR`` and ``+CMGL`` headers followed by the text.
"""

from __future__ import annotations

from datetime import datetime

from gatewayd.simulator.storage import TEXT_STATUS, StoredMessage
from gatewayd.sms import Deliver, PduError, StatusReport, Submit, decode_pdu


def text_timestamp(moment: datetime | None) -> str:
    """``"yy/MM/dd,hh:mm:ss±zz"`` with the zone in quarter hours, as modems print it."""
    if moment is None:
        return '""'
    offset = moment.utcoffset()
    quarters = int(offset.total_seconds() // 900) if offset is not None else 0
    sign = "-" if quarters < 0 else "+"
    return f'"{moment:%y/%m/%d,%H:%M:%S}{sign}{abs(quarters):02d}"'


def _body(text: str | None, data: bytes | None) -> list[str]:
    if text is None:
        return [(data or b"").hex().upper()]
    return text.replace("\r\n", "\n").split("\n")


def _address_type(number: str) -> int:
    return 145 if number.startswith("+") else 129


def text_mode_cmt(pdu: str) -> list[str]:
    decoded = decode_pdu(pdu)
    if not isinstance(decoded, Deliver):
        return [f"+CMT: ,{len(pdu) // 2}", pdu]
    header = f'+CMT: "{decoded.sender}",,{text_timestamp(decoded.scts)}'
    return [header, *_body(decoded.text, decoded.data)]


def text_mode_entry(message: StoredMessage, *, listing: bool) -> list[str]:
    """The ``+CMGL: <index>,...`` or ``+CMGR: ...`` header and body of one stored message."""
    prefix = f"+CMGL: {message.index}," if listing else "+CMGR: "
    status = f'"{TEXT_STATUS[message.status]}"'
    try:
        decoded = decode_pdu(message.pdu)
    except PduError:
        return [f"{prefix}{status},,", message.pdu]
    if isinstance(decoded, StatusReport):
        recipient = decoded.recipient
        return [
            f'{prefix}{status},6,{decoded.mr},"{recipient}",{_address_type(recipient)},'
            f"{text_timestamp(decoded.scts)},{text_timestamp(decoded.discharge_time)},"
            f"{decoded.status}"
        ]
    if isinstance(decoded, Submit):
        return [f'{prefix}{status},"{decoded.recipient}",', *_body(decoded.text, decoded.data)]
    header = f'{prefix}{status},"{decoded.sender}",,{text_timestamp(decoded.scts)}'
    return [header, *_body(decoded.text, decoded.data)]
