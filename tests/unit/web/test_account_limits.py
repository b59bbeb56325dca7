"""The arithmetic of client accounts' limits: the token bucket (a batch larger than the burst
goes into debt), the quota periods (UTC day and month, when they reset) and the parsing of an
account's networks and modems."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, date, datetime

import pytest

from gatewayd.queue import NewMessage, prepare
from gatewayd.store import UsagePeriod
from webui.services.accounts import Account, parse_networks, route_to_allowed_modems
from webui.services.errors import Invalid, QuotaExceeded, Throttled
from webui.services.quotas import period_end, period_start
from webui.services.throughput import LocalBuckets, burst_of, take_tokens


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_admits_its_burst_then_refuses_with_the_wait() -> None:
    state, wait = take_tokens(None, 0.0, 10.0, 10)
    assert wait == 0.0 and state.tokens == pytest.approx(0.0)

    state, wait = take_tokens(state, 0.0, 10.0, 1)
    assert wait == pytest.approx(0.1)

    state, wait = take_tokens(state, 0.1, 10.0, 1)
    assert wait == 0.0


def test_refills_at_the_rate_and_never_past_the_burst() -> None:
    state, _ = take_tokens(None, 0.0, 5.0, 5)
    state, wait = take_tokens(state, 100.0, 5.0, 5)
    assert wait == 0.0
    state, wait = take_tokens(state, 100.0, 5.0, 1)
    assert wait == pytest.approx(0.2)  # refilled to 5, not 500: one more token takes 1/5 s


def test_a_batch_larger_than_the_burst_waits_for_a_full_bucket_and_leaves_a_debt() -> None:
    state, _ = take_tokens(None, 0.0, 10.0, 4)
    state, wait = take_tokens(state, 0.0, 10.0, 100)
    assert wait == pytest.approx(0.4)  # needs a full bucket: 4 tokens missing at 10/s

    state, wait = take_tokens(state, 0.4, 10.0, 100)
    assert wait == 0.0 and state.tokens == pytest.approx(-90.0)

    _, wait = take_tokens(state, 0.4, 10.0, 1)
    assert wait == pytest.approx(9.1)  # the debt of 90 plus one token, at 10/s


def test_slow_rates_still_admit_one_message() -> None:
    assert burst_of(0.5) == 1.0
    state, wait = take_tokens(None, 0.0, 0.5, 1)
    assert wait == 0.0
    _, wait = take_tokens(state, 0.0, 0.5, 1)
    assert wait == pytest.approx(2.0)


def test_given_back_tokens_are_capped_at_the_burst() -> None:
    state, _ = take_tokens(None, 0.0, 3.0, 3)
    state, _ = take_tokens(state, 0.0, 3.0, -10)
    assert state.tokens == 3.0


async def test_local_buckets_are_per_account() -> None:
    clock = Clock()
    buckets = LocalBuckets(clock)
    assert await buckets.take(1, 2.0, 2) == 0.0
    assert await buckets.take(1, 2.0, 1) == pytest.approx(0.5)
    assert await buckets.take(2, 2.0, 2) == 0.0
    await buckets.give_back(1, 2.0, 1)
    assert await buckets.take(1, 2.0, 1) == 0.0
    clock.now += 0.5
    assert await buckets.take(1, 2.0, 1) == 0.0


@pytest.mark.parametrize(
    ("now", "day", "month", "day_end", "month_end"),
    [
        (
            datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
            date(2026, 12, 31),
            date(2026, 12, 1),
            datetime(2027, 1, 1, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
        ),
        (
            datetime.fromisoformat("2026-03-01T01:00:00+03:00"),  # still February in UTC
            date(2026, 2, 28),
            date(2026, 2, 1),
            datetime(2026, 3, 1, tzinfo=UTC),
            datetime(2026, 3, 1, tzinfo=UTC),
        ),
        (
            datetime(2028, 2, 29, 12, tzinfo=UTC),
            date(2028, 2, 29),
            date(2028, 2, 1),
            datetime(2028, 3, 1, tzinfo=UTC),
            datetime(2028, 3, 1, tzinfo=UTC),
        ),
    ],
)
def test_quota_periods_are_utc_days_and_months(
    now: datetime, day: date, month: date, day_end: datetime, month_end: datetime
) -> None:
    assert period_start(UsagePeriod.DAY, now) == day
    assert period_start(UsagePeriod.MONTH, now) == month
    assert period_end(UsagePeriod.DAY, now) == day_end
    assert period_end(UsagePeriod.MONTH, now) == month_end


def test_limit_errors_carry_what_front_doors_answer() -> None:
    resets = datetime(2027, 1, 1, tzinfo=UTC)
    quota = QuotaExceeded("month", resets, limit=1000, remaining=3)
    assert quota.code == "quota_exceeded"
    assert quota.detail == {"period": "month", "resets_at": "2027-01-01T00:00:00Z", "remaining": 3}
    assert "monthly quota of 1000" in quota.message
    assert Throttled(1.5).code == "rate_limited" and Throttled(1.5).retry_after == 1.5


def test_networks_accept_host_bits_and_refuse_nonsense() -> None:
    assert parse_networks(["10.1.2.3/8", "2001:db8::/32"]) == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33' is not a network")):
        parse_networks(["10.0.0.0/33"])


def test_allowed_addresses_include_ipv4_mapped_ones() -> None:
    account = Account(id=1, name="erp", allowed_networks=parse_networks(["192.168.0.0/16"]))
    assert account.allows_address("192.168.4.5")
    assert account.allows_address("::ffff:192.168.4.5")
    assert not account.allows_address("10.0.0.1")
    assert not account.allows_address("not an address")
    assert not account.allows_address(None)
    assert Account(id=2, name="any").allows_address(None)


def test_messages_are_kept_to_the_allowed_modems() -> None:
    account = Account(id=1, name="erp", allowed_modems=("gsm1", "gsm2"))
    free = [prepare(NewMessage(to="+5511987654321", text="hi")) for _ in range(4)]
    routed = route_to_allowed_modems(account, free)
    modems = [m.request.modem for m in routed]
    assert set(modems) == {"gsm1", "gsm2"} and modems[0] != modems[1]

    named = [prepare(NewMessage(to="+5511987654321", text="hi", modem="gsm3"))]
    with pytest.raises(Invalid) as refused:
        route_to_allowed_modems(account, named)
    assert refused.value.code == "modem_not_allowed" and refused.value.field == "modem"
    unlimited = Account(id=2, name="any")
    assert route_to_allowed_modems(unlimited, named) is named
