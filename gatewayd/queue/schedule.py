"""Schedules of recurring sends: parsing and the next run after a time. Pure: no I/O.

A schedule is JSON: ``{"every": "day", "at": "09:30"}``, ``{"every": "week", "at": "09:30",
"weekdays": [1, 3, 5]}`` (1 Monday … 7 Sunday), ``{"every": "month", "at": "09:30", "day":
31}`` (a month without that day runs on its last day), or ``{"cron": "*/15 8-18 * * 1-5"}``
(minute, hour, day of month, month, day of week 0-7 with 0 and 7 Sunday; ``*``, numbers,
``a-b``, ``/step`` and lists; when both day fields are restricted, either may match, as in
cron). Times are wall-clock times in the schedule's time zone: a time that a daylight-saving
change skips runs at the shifted time, one it repeats runs once.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_DAYS_AHEAD = 366 * 5
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
CRON_LIMITS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


class InvalidSchedule(ValueError):
    """A schedule that cannot be used; ``str()`` says why in one line."""


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """ISO weekdays 1..7."""
    any_day: bool
    any_weekday: bool
    last_day_fallback: int | None = None
    """Monthly on this day: months without it run on their last day."""

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        if self.last_day_fallback is not None:
            last = calendar.monthrange(day.year, day.month)[1]
            return day.day == min(self.last_day_fallback, last)
        by_day = day.day in self.days
        by_weekday = day.isoweekday() in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return by_weekday
        if self.any_weekday:
            return by_day
        return by_day or by_weekday

    def next_after(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The first run strictly after ``after`` (aware), in UTC; None if none in 5 years."""
        local = after.astimezone(zone)
        times = sorted(time(h, m) for h in self.hours for m in self.minutes)
        day = local.date()
        for _ in range(MAX_DAYS_AHEAD):
            if self._day_matches(day):
                for at in times:
                    candidate = datetime.combine(day, at, zone)
                    utc = candidate.astimezone(UTC)
                    if utc > after:
                        return utc
            day += timedelta(days=1)
        return None


def _at(value: Any) -> tuple[int, int]:
    found = _TIME.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise InvalidSchedule("at must be HH:MM (24 hours)")
    return int(found.group(1)), int(found.group(2))


def _cron_field(text: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        # ASCII digits only: "²" is a digit to str.isdigit() but not to int().
        step = int(step_text) if re.fullmatch(r"[0-9]+", step_text) else (0 if step_text else 1)
        if step < 1 or len(part) > 20:
            raise InvalidSchedule(f"bad cron field {text!r}")
        if base == "*":
            start, end = low, high
        elif re.fullmatch(r"[0-9]{1,2}-[0-9]{1,2}", base):
            start, end = (int(v) for v in base.split("-"))
        elif re.fullmatch(r"[0-9]{1,2}", base):
            start = int(base)
            end = high if step_text else start
        else:
            raise InvalidSchedule(f"bad cron field {text!r}")
        if not low <= start <= end <= high:
            raise InvalidSchedule(f"cron field {text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_schedule(value: Any) -> Schedule:
    """A :class:`Schedule` from its JSON, or :class:`InvalidSchedule`."""
    if not isinstance(value, dict):
        raise InvalidSchedule("a schedule is an object")
    every_day = frozenset(range(1, 32))
    all_months = frozenset(range(1, 13))
    if "cron" in value:
        cron = value["cron"]
        fields = cron.split() if isinstance(cron, str) and len(cron) <= 100 else []
        if len(fields) != 5:
            raise InvalidSchedule("cron has 5 fields: minute hour day month weekday")
        parsed = [_cron_field(f, lo, hi) for f, (lo, hi) in zip(fields, CRON_LIMITS, strict=True)]
        weekdays = frozenset(7 if d == 0 else d for d in parsed[4])
        return Schedule(
            parsed[0], parsed[1], parsed[2], parsed[3], weekdays, fields[2] == "*", fields[4] == "*"
        )
    hour, minute = _at(value.get("at"))
    every = value.get("every")
    if every == "day":
        return Schedule(
            frozenset({minute}),
            frozenset({hour}),
            every_day,
            all_months,
            frozenset(range(1, 8)),
            True,
            True,
        )
    if every == "week":
        days = value.get("weekdays")
        if (
            not isinstance(days, list)
            or not days
            or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in days)
        ):
            raise InvalidSchedule("weekdays are 1 (Monday) to 7 (Sunday), at least one")
        return Schedule(
            frozenset({minute}),
            frozenset({hour}),
            every_day,
            all_months,
            frozenset(days),
            True,
            False,
        )
    if every == "month":
        day = value.get("day")
        if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 31:
            raise InvalidSchedule("day is 1 to 31")
        return Schedule(
            frozenset({minute}),
            frozenset({hour}),
            every_day,
            all_months,
            frozenset(range(1, 8)),
            True,
            True,
            day,
        )
    raise InvalidSchedule('every is "day", "week" or "month", or give cron')


def parse_zone(name: Any) -> ZoneInfo:
    try:
        if isinstance(name, str) and 0 < len(name) < 64 and ".." not in name:
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    raise InvalidSchedule("unknown time zone")


def upcoming(schedule: Schedule, zone: ZoneInfo, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` runs after ``after`` (the preview)."""
    runs: list[datetime] = []
    at = after
    while len(runs) < count:
        following = schedule.next_after(at, zone)
        if following is None:
            break
        runs.append(following)
        at = following
    return runs
