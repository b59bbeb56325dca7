"""SMPP time strings (§7.1.1) and the dates of delivery receipts.

- absolute ``YYMMDDhhmmsstnnp``: tenths of a second ``t``, offset from UTC ``nn`` in quarter
  hours, ``p`` ``+`` or ``-``; years are read as 20YY.
- relative ``YYMMDDhhmmss000R``: years, months, days, hours, minutes, seconds after "now".
- receipt dates ``YYMMDDhhmm`` (some SMSCs add seconds: ``YYMMDDhhmmss``).

An empty string means "not given" and parses to None.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from gatewayd.smpp.constants import CommandStatus
from gatewayd.smpp.errors import TimeError

_MAX_QUARTER_HOURS = 48


def parse_time(value: str, *, now: datetime, status: CommandStatus) -> datetime | None:
    """The aware datetime ``value`` stands for, None when empty; TimeError carrying
    ``status`` (ESME_RINVSCHED or ESME_RINVEXPIRY, the caller's choice) when invalid.

    ``now`` (aware) is the base of relative times.
    """
    if value == "":
        return None
    if len(value) != 16 or not value[:15].isascii() or not value[:15].isdigit():
        raise TimeError(status, f"time {value!r} is not YYMMDDhhmmsstnnp")
    kind = value[15]
    if kind == "R":
        return _relative(value, now, status)
    if kind not in "+-":
        raise TimeError(status, f"time {value!r} ends in {kind!r}, not '+', '-' or 'R'")
    quarters = int(value[13:15])
    if quarters > _MAX_QUARTER_HOURS:
        raise TimeError(status, f"time {value!r} is {quarters} quarter hours from UTC")
    offset = timedelta(minutes=15 * quarters)
    zone = timezone(offset if kind == "+" else -offset)
    try:
        return datetime(
            2000 + int(value[0:2]),
            int(value[2:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            int(value[10:12]),
            int(value[12]) * 100_000,
            tzinfo=zone,
        )
    except ValueError:
        raise TimeError(status, f"time {value!r} is not a date") from None


def _relative(value: str, now: datetime, status: CommandStatus) -> datetime:
    years, months, days = int(value[0:2]), int(value[2:4]), int(value[4:6])
    hours, minutes, seconds = int(value[6:8]), int(value[8:10]), int(value[10:12])
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    month_index = now.month - 1 + months + 12 * years
    year, month = now.year + month_index // 12, month_index % 12 + 1
    if year > 9999:
        raise TimeError(status, f"relative time {value!r} is too far ahead")
    day = min(now.day, calendar.monthrange(year, month)[1])
    shifted = now.replace(year=year, month=month, day=day)
    try:
        return shifted + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        raise TimeError(status, f"relative time {value!r} is too far ahead") from None


def format_absolute(moment: datetime) -> str:
    """``YYMMDDhhmmsstnnp`` of an aware datetime in its own offset (in UTC when that offset
    is not a whole number of quarter hours), for query_sm_resp ``final_date``."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("moment must be an aware datetime")
    if offset % timedelta(minutes=15) or abs(offset) > timedelta(hours=12):
        moment, offset = moment.astimezone(UTC), timedelta(0)
    if not 2000 <= moment.year <= 2099:
        raise ValueError(f"year {moment.year} cannot be written as YY")
    quarters = int(abs(offset) // timedelta(minutes=15))
    sign = "-" if offset < timedelta(0) else "+"
    tenths = moment.microsecond // 100_000
    return f"{moment:%y%m%d%H%M%S}{tenths}{quarters:02d}{sign}"


def format_receipt_date(moment: datetime) -> str:
    """``YYMMDDhhmm`` of ``moment`` as it stands (convert it to the zone receipts use first)."""
    return f"{moment:%y%m%d%H%M}"


def parse_receipt_date(value: str, zone: tzinfo = UTC) -> datetime:
    """A receipt date, ``YYMMDDhhmm`` or ``YYMMDDhhmmss``, in ``zone``; ValueError otherwise."""
    if len(value) not in (10, 12) or not value.isascii() or not value.isdigit():
        raise ValueError(f"receipt date {value!r} is not YYMMDDhhmm")
    seconds = int(value[10:12]) if len(value) == 12 else 0
    return datetime(
        2000 + int(value[0:2]),
        int(value[2:4]),
        int(value[4:6]),
        int(value[6:8]),
        int(value[8:10]),
        seconds,
        tzinfo=zone,
    )
