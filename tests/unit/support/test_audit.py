"""The ledger audit of :mod:`tests.support.audit`, on planted rows and ledger lines: every
kind of fault it exists to find fails its verdict, and a clean run passes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.audit import Audit, check, part_texts

ALICE, BOB = "+5511987650001", "+5511987650002"
LONG = "a long text " * 20  # 240 GSM characters: two parts


def message(
    message_id: int, recipient: str, text: str, status: str, *part_statuses: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A message row and its part rows (one per status given, seq from 1)."""
    row = {
        "id": message_id,
        "recipient": recipient,
        "text": text,
        "encoding": "gsm7",
        "status": status,
    }
    parts = [
        {"message_id": message_id, "seq": seq, "status": s}
        for seq, s in enumerate(part_statuses, start=1)
    ]
    return row, parts


def sent(recipient: str, text: str, modem: int = 0) -> dict[str, Any]:
    return {"to": recipient, "text": text, "modem": modem}


def audited(
    planted: list[tuple[dict[str, Any], list[dict[str, Any]]]], ledger: list[dict[str, Any]]
) -> Audit:
    rows = [row for row, _ in planted]
    parts = [part for _, ps in planted for part in ps]
    return check(rows, parts, ledger)


def clean_run() -> tuple[list[tuple[dict[str, Any], list[dict[str, Any]]]], list[dict[str, Any]]]:
    """Five messages in every settled state, one of two parts, and the ledger that matches."""
    planted = [
        message(1, ALICE, "one", "delivered", "delivered"),
        message(2, BOB, "two", "sent", "sent"),
        message(3, ALICE, LONG, "delivered", "delivered", "delivered"),
        message(4, BOB, "four", "failed", "failed"),
        message(5, ALICE, "five", "unknown", "unknown"),
        message(6, BOB, "six", "unknown", "unknown"),
        message(7, ALICE, "seven", "expired", "expired"),
        message(8, BOB, "eight", "cancelled", "queued"),
    ]
    first, second = part_texts(LONG, "gsm7")
    ledger = [
        sent(ALICE, "one"),
        sent(BOB, "two"),
        sent(ALICE, first),
        sent(ALICE, second, 1),
        sent(ALICE, "five"),
        sent(ALICE, "seven"),
    ]
    return planted, ledger


def test_a_clean_run_passes_with_its_figures() -> None:
    planted, ledger = clean_run()
    audit = audited(planted, ledger)
    assert audit.problems() == []
    audit.assert_clean()
    assert audit.figures() == {
        "messages": 8,
        "parts": 9,
        "ledger_lines": 6,
        "statuses": {
            "delivered": 2,
            "sent": 1,
            "failed": 1,
            "unknown": 2,
            "expired": 1,
            "cancelled": 1,
        },
        "unknown_parts": 2,
        "unknown_parts_on_ledger": 1,
        "lost": 0,
        "duplicated": 0,
        "sent_while_refused": 0,
        "unsettled": 0,
        "phantom": 0,
        "sent_with_report": 0,
    }


def fails(audit: Audit, kind: str) -> str:
    """The audit's failure message, after checking that ``kind`` is the problem it names."""
    problems = audit.problems()
    assert len(problems) == 1 and kind in problems[0], problems
    with pytest.raises(AssertionError) as caught:
        audit.assert_clean()
    return str(caught.value)


def test_a_part_shown_sent_but_not_on_the_ledger_is_lost() -> None:
    planted, ledger = clean_run()
    ledger.remove(sent(BOB, "two"))
    audit = audited(planted, ledger)
    assert audit.lost == ["message 2 part 1 (sent) on ledger 0x"]
    assert "1 lost" in fails(audit, "lost")


def test_the_second_part_of_a_long_message_missing_from_the_ledger_is_lost() -> None:
    planted, ledger = clean_run()
    del ledger[3]
    assert audited(planted, ledger).lost == ["message 3 part 2 (delivered) on ledger 0x"]


def test_a_message_without_the_part_rows_its_text_needs_is_lost() -> None:
    planted, ledger = clean_run()
    row, parts = planted[2]
    planted[2] = (row, parts[:1])
    ledger = [e for e in ledger if e["text"] != part_texts(LONG, "gsm7")[1]]
    audit = audited(planted, ledger)
    assert audit.lost == ["message 3 part 2 (delivered) has no row"]
    fails(audit, "lost")


def test_a_part_sent_twice_is_duplicated() -> None:
    planted, ledger = clean_run()
    ledger.append(sent(ALICE, "one", modem=1))
    audit = audited(planted, ledger)
    assert audit.duplicated == ["message 1 part 1 (delivered) on ledger 2x"]
    fails(audit, "duplicated")


def test_an_unknown_part_on_the_ledger_twice_is_duplicated() -> None:
    planted, ledger = clean_run()
    ledger += [sent(ALICE, "five"), sent(BOB, "six"), sent(BOB, "six")]
    audit = audited(planted, ledger)
    assert audit.duplicated == [
        "message 5 part 1 (unknown) on ledger 2x",
        "message 6 part 1 (unknown) on ledger 2x",
    ]
    fails(audit, "duplicated")


def test_a_send_nobody_asked_for_is_a_phantom() -> None:
    planted, ledger = clean_run()
    ledger.append(sent(BOB, "one"))  # a known text to the wrong number
    ledger.append(sent(ALICE, "never queued"))
    audit = audited(planted, ledger)
    assert [e["text"] for e in audit.phantom] == ["one", "never queued"]
    assert "2 phantom" in fails(audit, "phantom")


def test_a_part_shown_failed_or_queued_that_went_out_is_sent_while_refused() -> None:
    planted, ledger = clean_run()
    ledger += [sent(BOB, "four"), sent(BOB, "eight")]
    audit = audited(planted, ledger)
    assert audit.sent_while_refused == [
        "message 4 part 1 (failed) on ledger 1x",
        "message 8 part 1 (queued) on ledger 1x",
    ]
    fails(audit, "sent_while_refused")


@pytest.mark.parametrize(
    ("message_status", "part_status"),
    [("queued", "queued"), ("sending", "sending"), ("sending", "sent"), ("delivered", "sending")],
)
def test_anything_still_queued_or_sending_is_unsettled(
    message_status: str, part_status: str
) -> None:
    planted, ledger = clean_run()
    planted.append(message(9, BOB, "nine", message_status, part_status))
    ledger.append(sent(BOB, "nine"))
    audit = audited(planted, ledger)
    assert audit.unsettled == [9]
    problems = audit.problems()
    assert any("1 unsettled" in p for p in problems), problems
    with pytest.raises(AssertionError, match="unsettled"):
        audit.assert_clean()


def test_a_message_status_outside_those_allowed_fails() -> None:
    planted, ledger = clean_run()
    audit = audited(planted, ledger)
    assert audit.problems(allowed_statuses={"delivered", "sent"}) == [
        "messages in unexpected states {'failed': 1, 'unknown': 2, 'expired': 1, 'cancelled': 1}"
    ]
    with pytest.raises(AssertionError, match="unexpected states"):
        audit.assert_clean(allowed_statuses={"delivered", "sent", "unknown"})


def test_every_kind_at_once_is_each_reported() -> None:
    planted, ledger = clean_run()
    planted.append(message(9, BOB, "nine", "sending", "sending"))
    ledger.remove(sent(ALICE, "one"))
    ledger += [sent(BOB, "two"), sent(BOB, "ghost"), sent(BOB, "four")]
    kinds = [p.split(":")[0] for p in audited(planted, ledger).problems()]
    assert kinds == [
        "messages in unexpected states {'sending'",
        "1 lost",
        "1 duplicated",
        "1 sent_while_refused",
        "1 unsettled",
        "1 phantom",
    ]
