"""The soak's verdict (:func:`tests.soak.run_soak.verdict`) on planted figures: a clean run
passes, and every fault the soak exists to find is named in its problems."""

from __future__ import annotations

from typing import Any

import pytest

from tests.soak.run_soak import MIN_SAMPLES, P95_LIMIT_MS, verdict
from tests.support.audit import Audit, check
from tests.support.load import LoadFigures

TO = "+5511987650001"


def planted_audit(statuses: dict[int, str], ledger_texts: list[str]) -> Audit:
    rows = [
        {"id": i, "recipient": TO, "text": f"soak-{i}", "encoding": "gsm7", "status": s}
        for i, s in statuses.items()
    ]
    parts = [{"message_id": i, "seq": 1, "status": s} for i, s in statuses.items()]
    return check(rows, parts, [{"to": TO, "text": t, "modem": 0} for t in ledger_texts])


def clean_audit() -> Audit:
    return planted_audit(
        {1: "delivered", 2: "delivered", 3: "sent"}, ["soak-1", "soak-2", "soak-3"]
    )


def clean_figures(latency: float = 0.02) -> LoadFigures:
    figures = LoadFigures(sent_ids=[1, 2, 3])
    for _ in range(50):
        figures.record("send", latency, 202)
        figures.record("list", latency, 200)
    return figures


def flat(value: int, count: int = 9) -> list[tuple[float, int]]:
    return [(float(n), value) for n in range(count)]


def judged(**changes: Any) -> list[str]:
    given: dict[str, Any] = {
        "audit": clean_audit(),
        "figures": clean_figures(),
        "rss": flat(100_000),
        "tasks": flat(140),
    }
    given.update(changes)
    return verdict(given["audit"], given["figures"], given["rss"], given["tasks"])


def test_a_clean_soak_passes() -> None:
    assert judged() == []


@pytest.mark.parametrize(
    ("statuses", "ledger", "named"),
    [
        ({1: "delivered", 2: "delivered", 3: "sent"}, ["soak-1", "soak-2"], "1 lost"),
        (
            {1: "delivered", 2: "delivered", 3: "sent"},
            ["soak-1", "soak-2", "soak-3", "soak-3"],
            "1 duplicated",
        ),
        (
            {1: "delivered", 2: "delivered", 3: "sent"},
            ["soak-1", "soak-2", "soak-3", "soak-99"],
            "1 phantom",
        ),
        ({1: "delivered", 2: "delivered", 3: "sending"}, ["soak-1", "soak-2"], "1 unsettled"),
    ],
    ids=["lost", "duplicated", "phantom", "unsettled"],
)
def test_an_audit_problem_fails_the_soak(
    statuses: dict[int, str], ledger: list[str], named: str
) -> None:
    problems = judged(audit=planted_audit(statuses, ledger))
    assert any(named in p for p in problems), problems


def test_a_server_error_fails_the_soak() -> None:
    figures = clean_figures()
    figures.record("list", 0.01, 503)
    assert judged(figures=figures) == ["1 server errors"]


def test_requests_without_an_answer_fail_the_soak() -> None:
    figures = clean_figures()
    figures.errors["ServerDisconnectedError"] += 2
    assert judged(figures=figures) == ["2 requests got no answer {'ServerDisconnectedError': 2}"]


def test_a_soak_that_sent_nothing_fails() -> None:
    figures = clean_figures()
    figures.sent_ids.clear()
    assert judged(figures=figures, audit=planted_audit({}, [])) == [
        "no message was accepted: nothing was tested"
    ]


def test_an_accepted_message_missing_from_the_database_fails_the_soak() -> None:
    figures = clean_figures()
    figures.sent_ids.append(4)
    assert judged(figures=figures) == ["4 messages accepted, 3 in the database"]


def test_memory_growing_more_than_a_tenth_fails_the_soak() -> None:
    growing = [(0.0, 100_000)] * 3 + [(1.0, 105_000)] * 3 + [(2.0, 110_001)] * 3
    assert judged(rss=growing) == ["gatewayd memory grew by more than 10%"]
    just_within = [(0.0, 100_000)] * 3 + [(2.0, 110_000)] * 3
    assert judged(rss=just_within) == []


def test_asyncio_tasks_growing_fail_the_soak() -> None:
    growing = flat(140, 3) + flat(150, 3) + flat(151, 3)
    assert judged(tasks=growing) == ["gatewayd asyncio tasks grew by more than 10"]
    assert judged(tasks=flat(140, 3) + flat(150, 3)) == []


@pytest.mark.parametrize("curve", ["rss", "tasks"])
def test_too_few_samples_to_judge_growth_fail_the_soak(curve: str) -> None:
    problems = judged(**{curve: flat(100, MIN_SAMPLES - 1)})
    assert problems == [
        f"{MIN_SAMPLES - 1} {'memory' if curve == 'rss' else 'asyncio task'} samples: too few "
        "to judge growth"
    ]


def test_a_p95_above_the_limit_fails_the_soak_on_the_unrounded_value() -> None:
    just_over = (P95_LIMIT_MS + 0.04) / 1000
    assert judged(figures=clean_figures(latency=just_over)) == [
        f"p95 {P95_LIMIT_MS + 0.04:.2f} ms above {P95_LIMIT_MS} ms"
    ]
    assert judged(figures=clean_figures(latency=P95_LIMIT_MS / 1000)) == []


def test_every_fault_at_once_is_each_reported() -> None:
    figures = clean_figures(latency=1.0)
    figures.record("send", 0.01, 500)
    figures.errors["TimeoutError"] += 1
    problems = judged(
        audit=planted_audit({1: "delivered", 2: "delivered", 3: "sent"}, []),
        figures=figures,
        rss=flat(1, 1),
        tasks=flat(1, 0),
    )
    assert [p.split(":")[0] for p in problems] == [
        "3 lost",
        "1 server errors",
        "1 requests got no answer {'TimeoutError'",
        "1 memory samples",
        "0 asyncio task samples",
        "p95 1000.00 ms above 200.0 ms",
    ]
