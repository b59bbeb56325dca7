"""SMPP time strings (SMPP 3.4 §7.1.1): absolute and relative forms read against "now", the
absolute form written for query_sm_resp, receipt dates both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.smpp import (
    CommandStatus,
    TimeError,
    format_absolute,
    format_receipt_date,
    parse_receipt_date,
    parse_time,
)

NOW = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
SCHED = CommandStatus.ESME_RINVSCHED


def zone(quarters: int) -> timezone:
    return timezone(timedelta(minutes=15 * quarters))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("260102030405000+", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("260102030405712-", datetime(2026, 1, 2, 3, 4, 5, 700_000, tzinfo=zone(-12))),
        # JASMIN's smpp.pdu TimeEncoder test: 2007-09-27 23:34:29.8, offset 00 quarter hours
        ("070927233429800+", datetime(2007, 9, 27, 23, 34, 29, 800_000, tzinfo=UTC)),
        ("991231235959948+", datetime(2099, 12, 31, 23, 59, 59, 900_000, tzinfo=zone(48))),
        ("000001000000000R", NOW + timedelta(days=1)),
        ("000000013000000R", NOW + timedelta(hours=1, minutes=30)),
        ("000100000000000R", datetime(2026, 2, 28, 10, 0, tzinfo=UTC)),  # Jan 31 + 1 month
        ("011300000000000R", datetime(2028, 2, 29, 10, 0, tzinfo=UTC)),  # + 2 years 1 month
        ("000000000099000R", NOW + timedelta(seconds=99)),
    ],
)
def test_parse_time(value: str, expected: datetime | None) -> None:
    assert parse_time(value, now=NOW, status=SCHED) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2601020304050000", "ends in '0'"),
        ("26010203040500+", "not YYMMDDhhmmsstnnp"),
        ("26010203040500+++", "not YYMMDDhhmmsstnnp"),
        ("2601020304050٠0+", "not YYMMDDhhmmsstnnp"),
        ("26010203040a000+", "not YYMMDDhhmmsstnnp"),
        ("261302030405000+", "not a date"),
        ("260230030405000+", "not a date"),
        ("260102250405000+", "not a date"),
        ("260102030405049+", "49 quarter hours"),
        ("990000000000000R", "too far ahead"),
    ],
)
def test_invalid_time_carries_the_callers_status(value: str, message: str) -> None:
    for status in (CommandStatus.ESME_RINVSCHED, CommandStatus.ESME_RINVEXPIRY):
        with pytest.raises(TimeError, match=message) as raised:
            parse_time(value, now=datetime(9990, 1, 1, tzinfo=UTC), status=status)
        assert raised.value.status == status


def test_relative_time_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_time("000001000000000R", now=datetime(2026, 1, 1), status=SCHED)


def test_format_absolute() -> None:
    assert format_absolute(datetime(2026, 1, 2, 3, 4, 5, 760_000, tzinfo=UTC)) == (
        "260102030405700+"
    )
    assert format_absolute(datetime(2026, 1, 2, 3, 4, 5, tzinfo=zone(-12))) == "260102030405012-"
    odd = timezone(timedelta(minutes=7))  # not a whole quarter hour: written in UTC
    assert format_absolute(datetime(2026, 1, 2, 3, 7, tzinfo=odd)) == "260102030000000+"
    with pytest.raises(ValueError, match="aware"):
        format_absolute(datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="YY"):
        format_absolute(datetime(1999, 1, 2, tzinfo=UTC))


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
    ),
    st.integers(-48, 48),
)
def test_absolute_round_trip(moment: datetime, quarters: int) -> None:
    local = moment.astimezone(zone(quarters))
    parsed = parse_time(format_absolute(local), now=NOW, status=SCHED)
    assert parsed == local.replace(microsecond=local.microsecond // 100_000 * 100_000)
    assert parsed is not None and parsed.utcoffset() == local.utcoffset()


def test_receipt_dates() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 59, tzinfo=UTC)
    assert format_receipt_date(moment) == "2601020304"
    assert parse_receipt_date("2601020304") == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert parse_receipt_date("260102030459", zone(4)) == moment.replace(tzinfo=zone(4))
    for bad in ("26010203", "2601020304x", "2613020304", "26010203045"):
        with pytest.raises(ValueError):
            parse_receipt_date(bad)
