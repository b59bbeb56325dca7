"""Rule matching as data: keywords folded, regexes bounded in time (catastrophic patterns
refused at save time, overruns no match), time windows across midnight, templates filled."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from webui.services.errors import Invalid
from webui.services.rule_match import Incoming, evaluate, fill, parse_rule

REPLY = [{"type": "reply", "text": "hi {from}, you said {rest}"}]


def rule(rule_id: int = 1, **match: Any) -> Any:
    return parse_rule(rule_id, {"name": f"r{rule_id}", "match": match, "actions": REPLY})


def message(text: str, sender: str = "+5511987654321", at: datetime | None = None) -> Incoming:
    return Incoming(7, sender, text, "sim0", at or datetime(2026, 12, 7, 12, 0, tzinfo=UTC))


def test_keyword_is_the_first_word_without_case_or_accents() -> None:
    info = rule(keyword="Informação")
    assert info.matches(message("INFORMACAO please"))
    assert info.matches(message("  informação"))
    assert not info.matches(message("more informação"))


@pytest.mark.parametrize("pattern", [r"(a|aa)+$", r"(a|a?)+$", r"(x+x+)+y", r"(.*a){30}x"])
def test_catastrophic_patterns_are_refused_in_bounded_time(pattern: str) -> None:
    started = time.perf_counter()
    with pytest.raises(Invalid) as refused:
        rule(regex=pattern)
    assert refused.value.code == "slow_regex"
    assert time.perf_counter() - started < 5


def test_a_regex_overrunning_at_run_time_is_no_match() -> None:
    stored = parse_rule(
        1, {"name": "x", "match": {"regex": r"(a|aa)+$"}, "actions": REPLY}, probe=False
    )
    started = time.perf_counter()
    assert not stored.matches(message("a" * 5000 + "!"))
    assert time.perf_counter() - started < 2


def test_bad_input_is_refused_with_its_field() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "x", "match": {"regex": "("}, "actions": REPLY}, "match.regex"),
        ({"name": "x", "match": {"regex": "a" * 501}, "actions": REPLY}, "match.regex"),
        ({"name": "x", "actions": []}, "actions"),
        ({"name": "x", "actions": [{"type": "explode"}]}, "actions[0]"),
        ({"name": "x", "actions": [{"type": "add_to_group", "group_id": True}]}, "actions[0]"),
        (
            {"name": "x", "match": {"time": {"start": "25:00", "end": "01:00"}}, "actions": REPLY},
            "match.time.start",
        ),
        ({"name": "x", "match": {"time": {"tz": "Mars/Base"}}, "actions": REPLY}, "match.time.tz"),
        ({"name": "x", "match": {"from": "abc"}, "actions": REPLY}, "match.from"),
        ({"name": "", "actions": REPLY}, "name"),
    ]
    for data, where in cases:
        with pytest.raises(Invalid) as refused:
            parse_rule(1, data)
        assert refused.value.field == where, data


def test_time_window_across_midnight_and_weekdays() -> None:
    night = rule(
        time={
            "start": "22:00",
            "end": "06:00",
            "weekdays": [1, 2, 3, 4, 5],
            "tz": "America/Sao_Paulo",
        }
    )
    monday_late = datetime(2026, 12, 8, 2, 30, tzinfo=UTC)  # Monday 23:30 in São Paulo
    monday_noon = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    saturday_late = datetime(2026, 12, 13, 2, 30, tzinfo=UTC)  # Saturday 23:30 there
    assert night.matches(message("x", at=monday_late))
    assert not night.matches(message("x", at=monday_noon))
    assert not night.matches(message("x", at=saturday_late))


def test_order_and_stop() -> None:
    rules = [
        rule(1, keyword="promo"),
        parse_rule(2, {"name": "b", "match": {"from": "+5511"}, "actions": REPLY, "stop": True}),
        rule(3),
    ]
    assert [r.id for r in evaluate(rules, message("promo now"))] == [1, 2]
    assert [r.id for r in evaluate(rules, message("hello", sender="+5521987654321"))] == [3]


def test_placeholders_filled_and_other_braces_kept() -> None:
    text = fill("{from} said {rest} {unknown} {{x}}", message("INFO price list"))
    assert text == "+5511987654321 said price list {unknown} {{x}}"


def test_huge_text_is_matched_quickly() -> None:
    many = [rule(i, keyword=f"k{i}") for i in range(1, 101)]
    started = time.perf_counter()
    assert evaluate(many, message("x" * 40_000)) == []
    assert time.perf_counter() - started < 1
