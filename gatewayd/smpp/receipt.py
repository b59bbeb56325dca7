"""The customary text of an SMSC delivery receipt (SMPP 3.4 Appendix B)::

    id:<id> sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD
    err:000 text:<first 20 characters>

(one line, wrapped here), built for deliver_sm receipts and parsed back for tests and
clients. It is plain ASCII: the message's first 20 characters with anything outside printable
ASCII shown as ``?``. SMSCs customarily send it as ASCII octets with data_coding 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum

from gatewayd.smpp.constants import MessageState
from gatewayd.smpp.times import format_receipt_date, parse_receipt_date

TEXT_CHARS = 20


class ReceiptStat(StrEnum):
    """The ``stat:`` words, one per message state."""

    ENROUTE = "ENROUTE"
    DELIVRD = "DELIVRD"
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"
    UNDELIV = "UNDELIV"
    ACCEPTD = "ACCEPTD"
    UNKNOWN = "UNKNOWN"
    REJECTD = "REJECTD"


STATE_OF_STAT: dict[ReceiptStat, MessageState] = {
    ReceiptStat.ENROUTE: MessageState.ENROUTE,
    ReceiptStat.DELIVRD: MessageState.DELIVERED,
    ReceiptStat.EXPIRED: MessageState.EXPIRED,
    ReceiptStat.DELETED: MessageState.DELETED,
    ReceiptStat.UNDELIV: MessageState.UNDELIVERABLE,
    ReceiptStat.ACCEPTD: MessageState.ACCEPTED,
    ReceiptStat.UNKNOWN: MessageState.UNKNOWN,
    ReceiptStat.REJECTD: MessageState.REJECTED,
}
"""The ``message_state`` TLV that goes with each ``stat:`` word."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt's fields. ``err`` is kept as written (usually three digits)."""

    message_id: str
    submitted: int
    delivered: int
    submit_date: datetime
    done_date: datetime
    stat: ReceiptStat
    err: str
    text: str

    @property
    def message_state(self) -> MessageState:
        return STATE_OF_STAT[self.stat]


def _ascii_text(text: str) -> str:
    return "".join(char if " " <= char <= "~" else "?" for char in text[:TEXT_CHARS])


def format_receipt(
    message_id: str,
    *,
    submit_date: datetime,
    done_date: datetime,
    stat: ReceiptStat,
    err: int = 0,
    text: str = "",
    submitted: int = 1,
    delivered: int = 1,
) -> str:
    """The receipt text; dates are written as they stand (``YYMMDDhhmm``), ``err`` as three
    digits, ``text`` cut to its first 20 characters."""
    if not 0 <= err <= 999 or not 0 <= submitted <= 999 or not 0 <= delivered <= 999:
        raise ValueError("err, sub and dlvrd take three digits")
    return (
        f"id:{message_id} sub:{submitted:03d} dlvrd:{delivered:03d}"
        f" submit date:{format_receipt_date(submit_date)}"
        f" done date:{format_receipt_date(done_date)}"
        f" stat:{stat.value} err:{err:03d} text:{_ascii_text(text)}"
    )


_RECEIPT = re.compile(
    r"id:(?P<id>\S*)\s+sub:(?P<sub>\d{1,3})\s+dlvrd:(?P<dlvrd>\d{1,3})"
    r"\s+submit date:(?P<submit>\d{10}(?:\d{2})?)\s+done date:(?P<done>\d{10}(?:\d{2})?)"
    r"\s+stat:(?P<stat>[A-Z]{7})\s+err:(?P<err>\w*)(?:\s+text:(?P<text>.*))?",
    re.IGNORECASE | re.DOTALL | re.ASCII,
)


def parse_receipt(text: str, zone: tzinfo = UTC) -> Receipt:
    """The fields of a receipt text (keys in any case, dates with or without seconds, the
    ``text:`` part optional); ValueError when ``text`` is not a receipt."""
    found = _RECEIPT.match(text.lstrip())
    if found is None:
        raise ValueError("not a delivery receipt")
    try:
        stat = ReceiptStat(found["stat"].upper())
    except ValueError:
        raise ValueError(f"unknown receipt stat {found['stat']!r}") from None
    return Receipt(
        message_id=found["id"],
        submitted=int(found["sub"]),
        delivered=int(found["dlvrd"]),
        submit_date=parse_receipt_date(found["submit"], zone),
        done_date=parse_receipt_date(found["done"], zone),
        stat=stat,
        err=found["err"],
        text=found["text"] or "",
    )
