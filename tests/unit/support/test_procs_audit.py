"""The acceptance tier's exactly-once count (:func:`tests.acceptance.core.procs.audit`) on
planted statuses and ledgers: each fault it must catch makes :func:`problems` non-empty."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.acceptance.core.procs import VERDICT, audit, problems

TEXTS = {1: "m1", 2: "m2", 3: "m3", 4: "m4", 5: "m5", 6: "m6"}
CLEAN = {1: "delivered", 2: "delivered", 3: "sent", 4: "expired", 5: "unknown", 6: "unknown"}


def line(text: str) -> dict[str, Any]:
    return {"to": "+5511987650000", "text": text, "modem": 0}


def clean_ledger() -> list[dict[str, Any]]:
    return [line(t) for t in ("m1", "m2", "m3", "m4", "m5")]


def test_a_clean_run_has_no_problems_and_counts_each_status() -> None:
    outcome = audit(TEXTS, dict(CLEAN), clean_ledger())
    assert problems(outcome) == []
    assert outcome == Counter(
        {
            "delivered": 2,
            "sent": 1,
            "expired": 1,
            "unknown": 2,
            "unknown_but_sent": 1,
            **dict.fromkeys(VERDICT, 0),
        }
    )


def test_a_delivered_message_not_on_the_ledger_is_lost() -> None:
    ledger = clean_ledger()[1:]
    outcome = audit(TEXTS, dict(CLEAN), ledger)
    assert problems(outcome) == ["lost 1"]


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_a_message_that_never_went_out_is_lost(status: str) -> None:
    outcome = audit(TEXTS, {**CLEAN, 1: status}, clean_ledger()[1:])
    assert problems(outcome) == ["lost 1"]


@pytest.mark.parametrize("status", ["delivered", "unknown", "queued", "failed"])
def test_a_message_on_the_ledger_twice_is_a_duplicate(status: str) -> None:
    found = {**CLEAN, 1: status}
    outcome = audit(TEXTS, found, [*clean_ledger(), line("m1")])
    assert "dup 1" in problems(outcome)


def test_a_ledger_line_matching_no_message_is_a_phantom() -> None:
    outcome = audit(
        TEXTS, dict(CLEAN), [*clean_ledger(), line("nobody queued this"), line("nor this")]
    )
    assert problems(outcome) == ["phantom 2"]


@pytest.mark.parametrize("status", ["queued", "sending"])
@pytest.mark.parametrize("on_ledger", [False, True])
def test_a_message_still_queued_or_sending_is_unsettled(status: str, on_ledger: bool) -> None:
    ledger = clean_ledger() if on_ledger else clean_ledger()[1:]
    outcome = audit(TEXTS, {**CLEAN, 1: status}, ledger)
    assert problems(outcome) == ["unsettled 1"]


def test_a_message_without_a_row_is_missing_even_if_it_was_sent() -> None:
    found = dict(CLEAN)
    del found[1]
    outcome = audit(TEXTS, found, clean_ledger())
    assert problems(outcome) == ["missing 1"]


def test_a_message_shown_failed_that_went_out_is_reported() -> None:
    outcome = audit(TEXTS, {**CLEAN, 1: "failed"}, clean_ledger())
    assert problems(outcome) == ["sent_while_failed 1"]


def test_an_unknown_message_may_be_absent_from_the_ledger() -> None:
    outcome = audit(TEXTS, dict(CLEAN), [line(t) for t in ("m1", "m2", "m3", "m4")])
    assert problems(outcome) == []
    assert outcome["unknown_but_sent"] == 0
