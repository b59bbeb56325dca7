"""The verdicts of bench/report.py: medians of unrounded per-run figures, never fewer than three
runs, the spread printed beside them."""

from __future__ import annotations

from typing import Any

import pytest

from bench.compare import compare
from bench.verdict import MIN_RUNS, Spread, above, all_of, at_least, below, verdict_text


def test_a_figure_just_below_the_target_is_missed_even_where_it_would_print_as_the_target() -> None:
    assert at_least([0.9799, 0.9799, 0.9799], 0.98) is False
    assert f"{0.9799:.2f}" == "0.98"  # what the old report judged on
    assert at_least([0.98, 0.98, 0.98], 0.98) is True
    assert at_least([0.97999999, 0.98000001, 0.97999999], 0.98) is False


def test_a_throughput_just_below_its_target_is_missed() -> None:
    assert at_least([19_999.6, 20_400.0, 19_950.0], 20_000.0) is False
    assert at_least([20_000.4, 19_000.0, 21_000.0], 20_000.0) is True


def test_the_median_decides_not_the_best_or_the_worst_run() -> None:
    assert at_least([0.90, 0.985, 0.99], 0.98) is True
    assert at_least([0.97, 0.975, 0.999], 0.98) is False
    assert below([3.0, 9.99, 250.0], 10.0) is True
    assert below([3.0, 10.0, 4.0], 10.0) is True
    assert below([10.0, 10.0, 4.0], 10.0) is False
    assert below([9.9999, 10.0001, 10.0001], 10.0) is False


def test_fewer_than_three_runs_give_no_verdict() -> None:
    assert MIN_RUNS == 3
    assert at_least([0.99], 0.98) is None
    assert at_least([0.99, 0.995], 0.98) is None
    assert below([1.0, 2.0], 10.0) is None
    assert verdict_text(None, 1) == "no verdict (1 run; 3 needed)"
    assert verdict_text(True, 3) == "**met**"
    assert verdict_text(False, 5) == "**missed**"


def test_median_and_spread_of_repeated_runs() -> None:
    odd = Spread.of([0.983, 0.979, 0.981])
    assert (odd.median, odd.low, odd.high, odd.runs) == (0.981, 0.979, 0.983, 3)
    even = Spread.of([4.0, 1.0, 3.0, 2.0])
    assert even.median == 2.5
    assert odd.text(3) == "0.981 (0.979..0.983, 3 runs)"
    assert Spread.of([19_876.4, 20_512.9, 21_003.2]).text(0, thousands=True) == (
        "20,513 (19,876..21,003, 3 runs)"
    )
    assert Spread.of([7.0]).text(1) == "7.0 (1 run)"


def test_a_spread_needs_figures() -> None:
    with pytest.raises(ValueError, match="no runs"):
        Spread.of([])
    with pytest.raises(ValueError, match="NaN"):
        Spread.of([1.0, float("nan"), 2.0])


def test_verdicts_combine() -> None:
    assert all_of([True, True]) is True
    assert all_of([True, False]) is False
    assert all_of([True, None]) is None


def test_a_figure_fell_only_beyond_the_noise_of_the_runs() -> None:
    def limit(*ratios: float) -> dict[str, Any]:
        runs = [{"latency_ms": 50.0, "database": "sqlite", "ratio": r} for r in ratios]
        return {"limit": {"runs": runs}}

    def latency(*p99: float) -> dict[str, Any]:
        runs = [{"setup": "daemon", "queue_latency": {"p50_ms": 1.0, "p99_ms": v}} for v in p99]
        return {"latency": {"runs": runs}}

    [within] = compare(limit(0.981), limit(0.975, 0.979, 0.982))  # 0.002 lower, range 0.007
    assert not within.fell
    [fell] = compare(limit(0.981), limit(0.960, 0.962, 0.963))  # 0.019 lower, range 0.003
    assert fell.fell
    [better] = compare(limit(0.95), limit(0.99, 0.99, 0.99))
    assert not better.fell
    lat = {c.name: c for c in compare(latency(6.4), latency(9.0, 9.5, 10.0))}
    assert lat["latency daemon p99_ms"].fell  # a latency rising beyond the noise
    assert not lat["latency daemon p50_ms"].fell


def test_a_spread_prints_its_unit_after_the_median() -> None:
    assert Spread.of([1.0, 2.0, 3.0]).text(1, unit=" ms") == "2.0 ms (1.0..3.0, 3 runs)"


def test_faster_than_a_peer_needs_a_median_ratio_strictly_over_one() -> None:
    assert above([1.2, 0.9, 1.5], 1.0) is True
    assert above([1.0, 1.0, 3.0], 1.0) is False
    assert above([0.5, 0.99, 4.0], 1.0) is False
    assert above([float("inf"), 2.0, 3.0], 1.0) is True
    assert above([5.0, 5.0], 1.0) is None
