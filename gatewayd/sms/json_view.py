"""The JSON object of a decoded PDU (SPEC §3.4), as ``gatewayd pdu decode`` prints it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gatewayd.sms.pdu import Decoded, Deliver, Submit
from gatewayd.sms.udh import Concat


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _concat(concat: Concat | None) -> dict[str, int] | None:
    if concat is None:
        return None
    return {"ref": concat.ref, "total": concat.total, "seq": concat.seq}


def _add_content(view: dict[str, Any], decoded: Deliver | Submit) -> None:
    view["concat"] = _concat(decoded.concat)
    view["text"] = decoded.text
    if decoded.data is not None:
        view["data_hex"] = decoded.data.hex().upper()


def pdu_to_json(decoded: Decoded) -> dict[str, Any]:
    """Only the keys meaningful for the PDU's type; ``data_hex`` only for 8-bit data."""
    view: dict[str, Any] = {"type": decoded.message_type, "smsc": decoded.smsc}
    if isinstance(decoded, Deliver):
        view.update(
            sender=decoded.sender,
            pid=decoded.pid,
            dcs=decoded.dcs,
            encoding=decoded.encoding,
            message_class=decoded.message_class,
            scts=_iso(decoded.scts),
        )
        _add_content(view, decoded)
    elif isinstance(decoded, Submit):
        view.update(
            recipient=decoded.recipient,
            mr=decoded.mr,
            pid=decoded.pid,
            dcs=decoded.dcs,
            encoding=decoded.encoding,
            message_class=decoded.message_class,
            status_report_requested=decoded.status_report_requested,
            reject_duplicates=decoded.reject_duplicates,
            validity_minutes=decoded.validity_minutes,
        )
        _add_content(view, decoded)
    else:
        view.update(
            recipient=decoded.recipient,
            mr=decoded.mr,
            scts=_iso(decoded.scts),
            discharge_time=_iso(decoded.discharge_time),
            status=decoded.status,
            state=decoded.state,
        )
    view["tpdu_length"] = decoded.tpdu_length
    return view
