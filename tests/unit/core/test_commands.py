"""The signed envelope of operator commands: only a genuine, fresh, first copy opens."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.commands import (
    MAX_AGE,
    RefusalLog,
    Refused,
    ReplayGuard,
    command_key,
    open_envelope,
    seal,
)

KEY = command_key("an installation secret key of enough length, 0123456789")
COMMAND = {"type": "modem.restart", "modem": "sim0", "reply_to": "smsgw:reply:abc"}
NOW = 1_800_000_000.0


def reason(envelope: object, key: bytes | None = KEY, now: float = NOW) -> str:
    with pytest.raises(Refused) as refused:
        open_envelope(key, envelope, now=now)
    return refused.value.reason


def test_a_sealed_command_opens_after_a_trip_through_json() -> None:
    envelope = seal(KEY, COMMAND, now=NOW)
    nonce, body = open_envelope(KEY, json.loads(json.dumps(envelope)), now=NOW + 1)
    assert body == COMMAND and nonce == envelope["nonce"]


def test_unsigned_and_malformed_envelopes_are_refused() -> None:
    assert reason(COMMAND) == "unsigned"
    assert reason("modem.restart") == "unsigned"
    assert reason(None) == "unsigned"
    sealed = seal(KEY, COMMAND, now=NOW)
    for field, value in (
        ("v", 2),
        ("issued_ms", "1"),
        ("issued_ms", True),
        ("body", []),
        ("nonce", 7),
        ("sig", None),
    ):
        assert reason({**sealed, field: value}) == "unsigned", field
    assert reason({**sealed, "extra": 1}) == "unsigned"


def test_another_key_or_a_changed_field_breaks_the_signature() -> None:
    sealed = seal(KEY, COMMAND, now=NOW)
    assert reason(sealed, key=command_key("some other installation's secret key, 0123")) == (
        "bad_signature"
    )
    assert reason({**sealed, "body": {**COMMAND, "modem": "sim1"}}) == "bad_signature"
    assert reason({**sealed, "nonce": "0" * 32}) == "bad_signature"
    assert reason({**sealed, "issued_ms": sealed["issued_ms"] + 1}) == "bad_signature"
    assert reason({**sealed, "sig": "0" * 64}) == "bad_signature"
    assert reason(sealed, key=None) == "no_key"


def test_stale_and_early_envelopes_are_refused() -> None:
    sealed = seal(KEY, COMMAND, now=NOW)
    assert reason(sealed, now=NOW + MAX_AGE + 1) == "stale"
    assert reason(sealed, now=NOW - MAX_AGE - 1) == "stale"
    open_envelope(KEY, sealed, now=NOW + MAX_AGE - 1)


def test_the_session_key_is_not_the_command_key() -> None:
    from webui.options import session_key

    secret = "an installation secret key of enough length, 0123456789"
    assert command_key(secret) != session_key(secret)


def test_a_second_copy_is_refused_until_long_after_it_went_stale() -> None:
    now = [NOW]
    guard = ReplayGuard(clock=lambda: now[0])
    guard.check("n1")
    with pytest.raises(Refused, match="replayed"):
        guard.check("n1")
    now[0] += MAX_AGE
    with pytest.raises(Refused, match="replayed"):
        guard.check("n1")
    guard.check("n2")
    now[0] += 3 * MAX_AGE
    guard.check("n3")
    assert "n1" not in guard._seen  # forgotten once stale anyway


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(st.sampled_from(["v", "issued_ms", "nonce", "body", "sig"]), JSONISH)
def test_any_change_to_a_sealed_envelope_is_refused(field: str, value: Any) -> None:
    sealed = seal(KEY, COMMAND, now=NOW)
    changed = copy.deepcopy(sealed)
    changed[field] = value
    if changed[field] == sealed[field] and type(value) is type(sealed[field]):
        return
    assert reason(changed) in ("unsigned", "bad_signature")


def test_refusals_are_logged_at_most_so_often() -> None:
    now = [0.0]
    logged: list[dict[str, Any]] = []

    class Recorder:
        def warning(self, event: str, **fields: Any) -> None:
            logged.append({"event": event, **fields})

    refusals = RefusalLog(per_minute=2, clock=lambda: now[0], logger=Recorder())
    for _ in range(5):
        refusals.refused(Refused("unsigned"), COMMAND)
    now[0] = 61
    refusals.refused(Refused("stale"), seal(KEY, COMMAND))
    lines = [entry for entry in logged if entry["event"] == "Refused operator command"]
    assert [(e["reason"], e["left_out"]) for e in lines] == [
        ("unsigned", 0),
        ("unsigned", 0),
        ("stale", 3),
    ]
    assert lines[-1]["modem"] == "sim0" and lines[-1]["type"] == "modem.restart"
