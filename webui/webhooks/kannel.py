"""Kannel-style delivery reports: ``dlr-mask`` bits and ``dlr-url`` placeholders.

Kannel's DLR types: 1 delivered to phone, 2 non-delivered to phone, 4 queued on SMSC,
8 delivered to SMSC (sent), 16 non-delivered to SMSC (rejected). The gateway maps its message
statuses onto them: delivered → 1, failed/expired → 2, unknown → 4, sent → 8, cancelled → 16.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

STATUS_TO_DLR_TYPE = {
    "delivered": 1,
    "failed": 2,
    "expired": 2,
    "unknown": 4,
    "sent": 8,
    "cancelled": 16,
}
DLR_TEXT = {1: "DELIVRD", 2: "UNDELIV", 4: "BUFFRED", 8: "ACK", 16: "NACK"}


MAX_DLR_MASK = 255
"""Kannel's bits above 16 (32: intermediate reports) are accepted and never reported here."""


def dlr_mask(text: str) -> int:
    """The ``dlr-mask`` parameter as a number from 0 to 255; ValueError otherwise."""
    text = text.strip().lstrip("0") or "0"
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and int(text) <= MAX_DLR_MASK):
        raise ValueError(f"dlr-mask must be a number from 0 to {MAX_DLR_MASK}")
    return int(text)


def dlr_type(status: str, mask: int) -> int | None:
    """The DLR type to report for ``status``, or None when ``mask`` does not ask for it."""
    kind = STATUS_TO_DLR_TYPE.get(status)
    if kind is None or not mask & kind:
        return None
    return kind


def substitute(
    template: str,
    *,
    kind: int,
    message_id: int,
    recipient: str,
    sender: str,
    modem: str,
    at: datetime,
    detail: str | None,
) -> str:
    """Fill Kannel's escapes: %d type, %p receiver, %P sender, %i SMSC (modem), %I message id,
    %t time, %T unix time, %A reply text, %% a percent sign. Unknown escapes stay as they are."""
    values = {
        "d": str(kind),
        "p": recipient,
        "P": sender,
        "i": modem,
        "I": str(message_id),
        "t": at.strftime("%Y-%m-%d %H:%M:%S"),
        "T": str(int(at.timestamp())),
        "A": f"{DLR_TEXT[kind]} {detail or ''}".strip(),
    }
    out: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        if char == "%" and index + 1 < len(template):
            code = template[index + 1]
            if code == "%":
                out.append("%")
                index += 2
                continue
            if code in values:
                out.append(quote(values[code], safe=""))
                index += 2
                continue
        out.append(char)
        index += 1
    return "".join(out)
