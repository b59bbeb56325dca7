"""The benchmark harness imports and works end to end on a tiny run (never timed here):
five messages through the embedded gateway reach the simulated network exactly once, and the
report page renders from results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import report, run_all
from bench.common import percentile, rate_between, summary_ms
from bench.embedded import embedded
from bench.stack import enqueue_all, prepared_messages
from bench.throughput import steady_rate


def test_every_benchmark_is_registered() -> None:
    assert set(run_all.BENCHMARKS) == {
        "codec",
        "limit",
        "scale",
        "latency",
        "at_size",
        "side_by_side",
        "ingest",
    }


def test_statistics() -> None:
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert summary_ms([0.001, 0.003])["p50_ms"] == 2.0
    assert rate_between([10.0, 10.5, 11.0]) == 2.0
    entries = [{"modem": m, "t": float(t)} for m in (0, 1) for t in range(5)]
    total, window = steady_rate(entries)
    assert (total, window) == (2.0, 4.0)


async def test_five_messages_through_the_embedded_gateway(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'smoke.db'}"
    async with embedded(tmp_path, url, latency_ms=1, report_delay_ms=1, log_to_file=False) as setup:
        await enqueue_all(setup.db, prepared_messages(5))
        await setup.wake()
        entries = await setup.network.wait_for_ledger(5, timeout=30)
    texts = sorted(entry["text"] for entry in entries)
    assert texts == [f"Benchmark message {i}" for i in range(5)]
    assert all(isinstance(entry["t"], float) for entry in entries)


def test_report_renders_targets_from_results(tmp_path: Path) -> None:
    results: dict[str, dict[str, Any]] = {
        "limit": {
            "runs": [
                {
                    "latency_ms": 50.0,
                    "messages": 5,
                    "database": "sqlite",
                    "ratio": 0.5,
                    "rate_sms_per_s": 10.0,
                    "limit_sms_per_s": 20.0,
                }
            ]
        },
        "ingest": {"measured": False, "note": "not measured: API not available"},
    }
    page = report.render(results, tmp_path / "plots")
    assert "one modem, 50 ms, 5 msgs, sqlite | ratio 0.500" in page
    assert "**missed**" in page
    assert "not measured: API not available" in page
