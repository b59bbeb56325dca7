"""Per-minute and per-day send limits of one modem."""

from __future__ import annotations

from gatewayd.store import utc_now
from gatewayd.worker.supervisor import SendWindow


def test_without_a_minute_limit_nothing_is_kept_per_part() -> None:
    window = SendWindow(per_minute=None, per_day=None)
    for _ in range(10_000):
        window.record()
    assert len(window.recent) == 0
    assert window.wait_needed(utc_now()) == 0.0


def test_a_minute_limit_pauses_until_the_oldest_part_is_a_minute_old() -> None:
    window = SendWindow(per_minute=2, per_day=None)
    now = utc_now()
    window.record()
    assert window.wait_needed(now) == 0.0
    window.record()
    assert 59.0 < window.wait_needed(now) <= 60.0


def test_a_day_limit_pauses_until_midnight_utc() -> None:
    window = SendWindow(per_minute=None, per_day=1)
    now = utc_now()
    assert window.wait_needed(now) == 0.0
    window.record()
    assert 0 < window.wait_needed(now) <= 86_400
