"""SMTP answers for the services' refusals: temporary where the same mail can pass later,
permanent where it never will, policy refusals as 5.7.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from webui.services.errors import Invalid, QuotaExceeded, ServiceError, Throttled
from webui.smtp.replies import reply_for


@pytest.mark.parametrize(
    ("error", "start"),
    [
        (Throttled(1.5), "451 4.7.1"),
        (QuotaExceeded("day", datetime(2026, 12, 6, tzinfo=UTC), 10, 0), "452 4.2.2"),
        (Invalid("too_many_recipients", "too many", "to"), "452 4.5.3"),
        (Invalid("opted_out", "+55 opted out", "to"), "550 5.7.1 opted_out"),
        (Invalid("invalid_number", "bad", "to"), "550 5.1.1"),
        (Invalid("invalid_text", "the text contains a NUL\ncharacter", "text"), "554 5.6.0"),
        (
            Invalid(
                "invalid_recipients",
                "2 of 2",
                "to",
                problems=[
                    {"code": "opted_out", "message": "a"},
                    {"code": "opted_out", "message": "b"},
                ],
            ),
            "550 5.7.1 opted_out: a",
        ),
        (
            Invalid(
                "invalid_recipients",
                "2 of 2",
                "to",
                problems=[
                    {"code": "opted_out", "message": "a"},
                    {"code": "invalid_number", "message": "b"},
                ],
            ),
            "550 5.1.1 invalid_recipients",
        ),
    ],
)
def test_reply_for(error: ServiceError, start: str) -> None:
    reply = reply_for(error)
    assert reply.startswith(start) and "\n" not in reply
