"""Recurring schedules: daily, weekly, monthly (short months), cron, time zones and the
daylight-saving change, and hostile schedules refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gatewayd.queue.schedule import InvalidSchedule, parse_schedule, parse_zone, upcoming

SP = parse_zone("America/Sao_Paulo")
NY = parse_zone("America/New_York")


def runs(schedule: dict[str, Any], after: datetime, count: int = 3, zone: Any = SP) -> list[str]:
    return [at.isoformat() for at in upcoming(parse_schedule(schedule), zone, after, count)]


def test_daily_at_local_time() -> None:
    after = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo
    assert runs({"every": "day", "at": "09:30"}, after) == [
        "2026-12-08T12:30:00+00:00",
        "2026-12-09T12:30:00+00:00",
        "2026-12-10T12:30:00+00:00",
    ]


def test_weekly_on_chosen_days() -> None:
    after = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # Sunday 21:00 in São Paulo
    assert runs({"every": "week", "at": "08:00", "weekdays": [1, 5]}, after) == [
        "2026-12-07T11:00:00+00:00",
        "2026-12-11T11:00:00+00:00",
        "2026-12-14T11:00:00+00:00",
    ]


def test_monthly_on_the_31st_uses_the_last_day_of_short_months() -> None:
    after = datetime(2027, 1, 31, 23, 0, tzinfo=UTC)
    assert runs({"every": "month", "at": "12:00", "day": 31}, after, zone=parse_zone("UTC")) == [
        "2027-02-28T12:00:00+00:00",
        "2027-03-31T12:00:00+00:00",
        "2027-04-30T12:00:00+00:00",
    ]


def test_cron_every_15_minutes_in_office_hours() -> None:
    after = datetime(2026, 12, 11, 20, 50, tzinfo=UTC)  # Friday 17:50 in São Paulo
    assert runs({"cron": "*/15 8-17 * * 1-5"}, after) == [
        "2026-12-14T11:00:00+00:00",
        "2026-12-14T11:15:00+00:00",
        "2026-12-14T11:30:00+00:00",
    ]


def test_daylight_saving_change_keeps_the_wall_clock() -> None:
    after = datetime(2027, 3, 13, 12, 0, tzinfo=UTC)  # New York changes on 14 March 2027
    assert runs({"every": "day", "at": "09:00"}, after, 2, zone=NY) == [
        "2027-03-13T14:00:00+00:00",
        "2027-03-14T13:00:00+00:00",
    ]


@pytest.mark.parametrize(
    "schedule",
    [
        {},
        {"every": "hour", "at": "09:00"},
        {"every": "day", "at": "24:00"},
        {"every": "week", "at": "09:00", "weekdays": []},
        {"every": "week", "at": "09:00", "weekdays": [True]},
        {"every": "month", "at": "09:00", "day": 32},
        {"cron": "* * * *"},
        {"cron": "61 * * * *"},
        {"cron": "*/0 * * * *"},
        {"cron": "*/\u00b2 * * * *"},  # a digit to str.isdigit(), not to int(): was a 500
        {"cron": "\u0663 * * * *"},  # an Arabic-Indic 3: not a cron number
        {"cron": "a b c d e"},
        {"cron": "1" * 200},
        "daily",
    ],
)
def test_hostile_schedules_are_refused(schedule: Any) -> None:
    with pytest.raises(InvalidSchedule):
        parse_schedule(schedule)


def test_unknown_zone_and_a_date_that_never_comes() -> None:
    with pytest.raises(InvalidSchedule):
        parse_zone("../../etc/passwd")
    never = parse_schedule({"cron": "0 0 31 2 *"})
    assert never.next_after(datetime(2026, 1, 1, tzinfo=UTC), SP) is None
