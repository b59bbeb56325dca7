"""Reused ``Idempotency-Key`` with a different body: refused with ``422 idempotency_mismatch``
rather than answered with the first request's messages as if nothing differed.

The stored messages of the first request are the record of what it asked for: a retry must ask
for the same recipients, texts, priority, send time, flash and delivery-report flags (in any
order; the modem is left out, as gatewayd may have chosen another one since).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from gatewayd.queue import PreparedMessage
from webui.errors import ApiError

Fingerprint = tuple[str, str, int, datetime | None, bool, bool]


def _when(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def asked(prepared: Iterable[PreparedMessage]) -> Counter[Fingerprint]:
    return Counter(
        (
            p.recipient,
            p.request.text,
            p.request.priority,
            _when(p.request.send_at),
            p.request.flash,
            p.request.status_report,
        )
        for p in prepared
    )


def stored(messages: Iterable[dict[str, Any]]) -> Counter[Fingerprint]:
    return Counter(
        (m["to"], m["text"], m["priority"], _when(m["send_at"]), m["flash"], m["status_report"])
        for m in messages
    )


def check_replay(prepared: Sequence[PreparedMessage], earlier: Sequence[dict[str, Any]]) -> None:
    """Raise ``422 idempotency_mismatch`` unless ``prepared`` asks for what ``earlier`` holds."""
    if asked(prepared) != stored(earlier):
        raise ApiError(
            422,
            "idempotency_mismatch",
            "this Idempotency-Key was used for a different request; use a new key for new messages",
            "Idempotency-Key",
        )
