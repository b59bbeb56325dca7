"""Alert steps from state and condition (pure): hold time, quiet period, repeats, clears; and
the settings document's checks, absurd values refused with the field named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gatewayd.store import AlertKind
from webui.alerts.decide import AlertState, Step, decide
from webui.alerts.settings import AlertSettings, parse_settings, stored_settings
from webui.services.errors import Invalid

T0 = datetime(2026, 12, 12, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_hold_time_first_marks_pending_then_raises_once_it_has_held() -> None:
    fresh = AlertState()
    assert decide(fresh, True, hold=300, quiet=3600, now=T0).step is Step.PENDING
    pending = AlertState(pending_since=T0)
    assert decide(pending, True, hold=300, quiet=3600, now=at(299)).step is Step.NONE
    raised = decide(pending, True, hold=300, quiet=3600, now=at(300))
    assert raised.step is Step.RAISE and raised.notify


def test_without_a_hold_time_a_condition_raises_at_once() -> None:
    decision = decide(AlertState(), True, hold=0, quiet=60, now=T0)
    assert decision.step is Step.RAISE and decision.notify


def test_a_pending_condition_that_stops_is_forgotten() -> None:
    assert decide(AlertState(pending_since=T0), False, hold=60, quiet=0, now=at(5)).step is (
        Step.FORGET
    )
    assert decide(AlertState(), False, hold=60, quiet=0, now=at(5)).step is Step.NONE


def test_an_active_alert_repeats_only_after_the_quiet_period() -> None:
    active = AlertState(active=True, raised_at=T0, notified_at=T0)
    assert decide(active, True, hold=0, quiet=600, now=at(599)).step is Step.NONE
    again = decide(active, True, hold=0, quiet=600, now=at(600))
    assert again.step is Step.REPEAT and again.notify


def test_a_flapping_subject_is_notified_once_per_quiet_period() -> None:
    # raised and notified at T0, cleared, raised again 10 s later: stored, not sent
    after_clear = AlertState(active=False, raised_at=T0, notified_at=T0)
    second = decide(after_clear, True, hold=0, quiet=3600, now=at(10))
    assert second.step is Step.RAISE and not second.notify
    # and its clear is not sent either (the raise it ends was not)
    unsent = AlertState(active=True, raised_at=at(10), notified_at=T0)
    clear = decide(unsent, False, hold=0, quiet=3600, now=at(20))
    assert clear.step is Step.CLEAR and not clear.notify
    # past the quiet period a raise is sent again
    assert decide(after_clear, True, hold=0, quiet=3600, now=at(3600)).notify


def test_a_clear_is_sent_when_its_raise_was() -> None:
    sent = AlertState(active=True, raised_at=T0, notified_at=T0)
    clear = decide(sent, False, hold=0, quiet=3600, now=at(1))
    assert clear.step is Step.CLEAR and clear.notify


def test_defaults_cover_every_kind_and_round_trip() -> None:
    settings = AlertSettings()
    assert set(settings.kinds) == set(AlertKind)
    assert settings.kinds[AlertKind.DISK_FULL].threshold == 90
    assert settings.kinds[AlertKind.LOW_CREDIT].threshold is None
    assert parse_settings(settings.to_json()) == settings
    assert stored_settings(None) == settings
    assert stored_settings({"kinds": "garbage"}) == settings


def test_a_partial_document_keeps_defaults_for_what_it_leaves_out() -> None:
    settings = parse_settings(
        {
            "email_to": ["ops@example.com", "ops@example.com"],
            "kinds": {"disk_full": {"threshold": 80, "channels": ["webhook"]}},
        }
    )
    assert settings.email_to == ("ops@example.com",)
    disk = settings.kinds[AlertKind.DISK_FULL]
    assert disk.threshold == 80 and disk.channels == ("webhook",) and disk.quiet == 86400
    assert settings.kinds[AlertKind.MESSAGE_FAILED].window == 3600


ABSURD: list[tuple[Any, str]] = [
    ({"kinds": {"disk_full": {"threshold": 100}}}, "kinds.disk_full.threshold"),
    ({"kinds": {"disk_full": {"threshold": 0}}}, "kinds.disk_full.threshold"),
    ({"kinds": {"disk_full": {"threshold": 95.5}}}, "kinds.disk_full.threshold"),
    ({"kinds": {"disk_full": {"threshold": True}}}, "kinds.disk_full.threshold"),
    ({"kinds": {"modem_offline": {"threshold": -5}}}, "kinds.modem_offline.threshold"),
    ({"kinds": {"modem_offline": {"threshold": 10**30}}}, "kinds.modem_offline.threshold"),
    ({"kinds": {"queue_stuck": {"threshold": "300"}}}, "kinds.queue_stuck.threshold"),
    ({"kinds": {"message_failed": {"window": 1}}}, "kinds.message_failed.window"),
    ({"kinds": {"message_failed": {"threshold": 0}}}, "kinds.message_failed.threshold"),
    ({"kinds": {"low_credit": {"threshold": 5}}}, "kinds.low_credit.threshold"),
    ({"kinds": {"low_credit": {"quiet": 10**9}}}, "kinds.low_credit.quiet"),
    ({"kinds": {"low_credit": {"quiet": -1}}}, "kinds.low_credit.quiet"),
    ({"kinds": {"low_credit": {"channels": ["sms"]}}}, "kinds.low_credit.channels"),
    ({"kinds": {"low_credit": {"enabled": "yes"}}}, "kinds.low_credit.enabled"),
    ({"kinds": {"low_credit": {"window": 60}}}, "kinds.low_credit.window"),
    ({"kinds": {"sun_exploded": {}}}, "kinds"),
    ({"email_to": ["a@b.c\r\nBcc: x@evil.example"]}, "email_to"),
    ({"email_to": [f"o{i}@example.com" for i in range(11)]}, "email_to"),
    ({"webhook_url": 5}, "webhook_url"),
    ({"colour": "red"}, "colour"),
    ([], None),
]


@pytest.mark.parametrize(("document", "field"), ABSURD)
def test_absurd_settings_are_refused_naming_the_field(document: Any, field: str | None) -> None:
    with pytest.raises(Invalid) as refused:
        parse_settings(document)
    assert refused.value.field == field
    assert refused.value.message
