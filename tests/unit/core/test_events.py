"""The bus contract: every event survives a trip through JSON, the public wire shapes stay as
browsers and older processes know them, and what is not an event of a channel is refused with
a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.events import (
    ACCESS,
    ANSWER_KINDS,
    COMMAND_KINDS,
    COMMANDS,
    EVENTS,
    REPLY_PREFIX,
    WAKE,
    AccountChanged,
    Channel,
    CommandAnswer,
    Event,
    EventError,
    KeyRevoked,
    MessageReceived,
    MessageStatusChanged,
    ModemLowBalance,
    ModemRecovery,
    ModemState,
    RestartCommand,
    Sealed,
    SessionsEnded,
    UssdCommand,
    WakeUp,
    new_reply_channel,
    reply_channel,
    to_wire,
)

AT = datetime(2026, 12, 1, 12, 0, 3, 120000, tzinfo=UTC)
REPLY = f"{REPLY_PREFIX}abc"

EXAMPLES: list[tuple[Channel[Event], Event]] = [
    (EVENTS, MessageStatusChanged(id=42, status="delivered", error=None, at=AT)),
    (EVENTS, MessageStatusChanged(id=43, status="failed", error="network said no", at=AT)),
    (
        EVENTS,
        MessageReceived(id=7, sender="+5511987654321", text="olá ✓", modem="sim0", received_at=AT),
    ),
    (EVENTS, ModemState(name="sim0", state="initialising")),
    (EVENTS, ModemState(name="sim0", state="error", error="no answer to AT")),
    (
        EVENTS,
        ModemState(name="sim0", state="online", signal=-71, operator="Claro", registration="home"),
    ),
    (EVENTS, ModemRecovery(name="sim0", step="reinit", reason="no answer to AT")),
    (EVENTS, ModemLowBalance(name="sim0", balance=12.34, threshold=20.0)),
    (WAKE, WakeUp(reason="queued")),
    (WAKE, WakeUp.queued(3, ["sim1", None, "sim0", "sim1"])),
    (ACCESS, SessionsEnded(user_id=5)),
    (ACCESS, KeyRevoked(key_id=9)),
    (ACCESS, AccountChanged(account_id=4)),
    (COMMANDS, Sealed(envelope={"v": 1, "nonce": "n", "body": {"type": "ussd"}})),
]
BODIES: list[Event] = [
    UssdCommand(modem="sim0", code="*100#", reply_to=REPLY),
    RestartCommand(modem="sim0", reply_to=REPLY),
    CommandAnswer(in_reply_to="n1", ok=True, text="Saldo R$ 12,34"),
    CommandAnswer(in_reply_to="n1", ok=False, error="sim0 is offline, not online"),
]


def trip(data: object) -> object:
    return json.loads(json.dumps(data))


@pytest.mark.parametrize(("channel", "event"), EXAMPLES, ids=lambda x: getattr(x, "TYPE", ""))
def test_every_event_comes_back_the_same_after_a_trip_through_json(
    channel: Channel[Event], event: Event
) -> None:
    assert channel.parse(trip(to_wire(event))) == event


@pytest.mark.parametrize("body", BODIES, ids=lambda body: body.TYPE)
def test_every_command_and_answer_comes_back_the_same(body: Event) -> None:
    kinds = ANSWER_KINDS if isinstance(body, CommandAnswer) else COMMAND_KINDS
    assert kinds.parse(trip(to_wire(body))) == body


def test_live_events_keep_their_public_shapes() -> None:
    """What browsers (``GET /events``) read: the same keys as ever, plus ``version``."""
    assert to_wire(MessageStatusChanged(id=42, status="sent", error=None, at=AT)) == {
        "type": "message.status",
        "version": 1,
        "id": 42,
        "status": "sent",
        "error": None,
        "at": "2026-12-01T12:00:03.120000+00:00",
    }
    received = MessageReceived(id=7, sender="+55119", text="oi", modem="sim0", received_at=AT)
    assert to_wire(received) == {
        "type": "message.received",
        "version": 1,
        "id": 7,
        "from": "+55119",
        "text": "oi",
        "modem": "sim0",
        "received_at": "2026-12-01T12:00:03.120000+00:00",
    }


def test_modem_state_has_one_shape() -> None:
    shapes = {frozenset(to_wire(event)) for _, event in EXAMPLES if isinstance(event, ModemState)}
    assert shapes == {
        frozenset(
            {"type", "version", "name", "state", "error", "signal", "operator", "registration"}
        )
    }


def test_wire_forms_of_older_processes_are_understood() -> None:
    """Before versions were written: no ``version`` (version 1), and wake-ups and answers
    without ``type`` (their channel carries one type)."""
    assert EVENTS.parse({"type": "modem.state", "name": "sim0", "state": "online"}) == (
        ModemState(name="sim0", state="online")
    )
    assert WAKE.parse({"reason": "queued"}) == WakeUp(reason="queued")
    assert WAKE.parse({"reason": "queued", "count": 2, "modems": ["a"]}) == WakeUp(
        reason="queued", count=2, modems=("a",)
    )
    assert ANSWER_KINDS.parse({"in_reply_to": "n", "ok": True, "text": "done"}) == (
        CommandAnswer(in_reply_to="n", ok=True, text="done")
    )
    assert ACCESS.parse({"type": "api_key.revoked", "key_id": 3}) == KeyRevoked(key_id=3)


def test_fields_a_receiver_does_not_know_are_ignored() -> None:
    wire = {**to_wire(SessionsEnded(user_id=5)), "by": "admin"}
    assert ACCESS.parse(wire) == SessionsEnded(user_id=5)


def refusal(channel: Channel[Event], data: object) -> str:
    with pytest.raises(EventError) as refused:
        channel.parse(data)
    return str(refused.value)


STATUS_WIRE = to_wire(MessageStatusChanged(id=42, status="sent", error=None, at=AT))


@pytest.mark.parametrize(
    ("channel", "data", "reason"),
    [
        (EVENTS, None, "not a JSON object but NoneType"),
        (EVENTS, "message.status", "not a JSON object but str"),
        (EVENTS, [STATUS_WIRE], "not a JSON object but list"),
        (EVENTS, {"id": 42}, "unknown event type 'None'"),
        (EVENTS, {**STATUS_WIRE, "type": "message.exploded"}, "unknown event type"),
        (EVENTS, {**STATUS_WIRE, "type": 7}, "unknown event type '7'"),
        (EVENTS, to_wire(SessionsEnded(user_id=1)), "unknown event type 'sessions.ended'"),
        (ACCESS, STATUS_WIRE, "unknown event type 'message.status'"),
        (WAKE, STATUS_WIRE, "expected wake, got type 'message.status'"),
        (EVENTS, {**STATUS_WIRE, "version": 2}, "message.status: version 2 is not understood"),
        (EVENTS, {**STATUS_WIRE, "version": "1"}, "version 1 is not understood"),
        (EVENTS, {**STATUS_WIRE, "version": True}, "version True is not understood"),
        (EVENTS, {**STATUS_WIRE, "version": None}, "version None is not understood"),
        (EVENTS, {k: v for k, v in STATUS_WIRE.items() if k != "at"}, "'at' is missing"),
        (EVENTS, {**STATUS_WIRE, "id": "42"}, "'id' is not an integer"),
        (EVENTS, {**STATUS_WIRE, "id": True}, "'id' is not an integer"),
        (EVENTS, {**STATUS_WIRE, "id": 4.2}, "'id' is not an integer"),
        (EVENTS, {**STATUS_WIRE, "status": None}, "'status' is not a string"),
        (EVENTS, {**STATUS_WIRE, "error": 5}, "'error' is not a string"),
        (EVENTS, {**STATUS_WIRE, "at": "yesterday"}, "'at' is not an ISO 8601 time"),
        (
            EVENTS,
            {"type": "modem.low_balance", "name": "s", "balance": "1", "threshold": 2},
            "'balance' is not a number",
        ),
        (EVENTS, {"type": "modem.state", "name": "s", "state": "x", "signal": -7.5}, "'signal'"),
        (WAKE, {"reason": "queued", "count": -1}, "'count' is negative"),
        (WAKE, {"reason": "queued", "count": "3"}, "'count' is not an integer"),
        (WAKE, {"reason": "queued", "modems": "sim0"}, "'modems' is not a list of strings"),
        (WAKE, {"reason": "queued", "modems": [1]}, "'modems' is not a list of strings"),
        (ACCESS, {"type": "sessions.ended", "user_id": None}, "'user_id' is not an integer"),
        (COMMANDS, "sealed", "not a JSON object but str"),
    ],
)
def test_what_is_not_an_event_of_the_channel_is_refused_with_a_reason(
    channel: Channel[Event], data: object, reason: str
) -> None:
    assert reason in refusal(channel, data)


def test_commands_name_a_reply_channel_and_answers_say_whether_they_worked() -> None:
    ussd = to_wire(UssdCommand(modem="sim0", code="*100#", reply_to=REPLY))
    with pytest.raises(EventError, match="'reply_to' is not a reply channel"):
        COMMAND_KINDS.parse({**ussd, "reply_to": "smsgw:commands"})
    with pytest.raises(EventError, match=r"unknown event type 'modem\.selfdestruct'"):
        COMMAND_KINDS.parse({**ussd, "type": "modem.selfdestruct"})
    with pytest.raises(EventError, match="'ok' is not true or false"):
        ANSWER_KINDS.parse({"in_reply_to": "n", "ok": 1})
    with pytest.raises(EventError, match="is not a reply channel"):
        reply_channel("smsgw:events")
    own = new_reply_channel()
    assert own.name.startswith(REPLY_PREFIX) and own.name != new_reply_channel().name


def test_a_sealed_envelope_travels_as_it_is() -> None:
    """Its checks are the signature's (gatewayd.commands): a forged one must reach them."""
    forged = {"type": "modem.restart", "modem": "sim0"}
    assert COMMANDS.parse(forged) == Sealed(envelope=forged)
    assert to_wire(Sealed(envelope=forged)) == forged


def test_the_version_is_not_the_senders_to_choose() -> None:
    with pytest.raises(TypeError):
        SessionsEnded(user_id=1, version=2)  # type: ignore[call-arg]
    assert SessionsEnded(user_id=1).version == 1


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
TYPES = st.sampled_from(
    ["message.status", "message.received", "modem.state", "modem.recovery", "modem.low_balance"]
)


@given(st.dictionaries(st.text(max_size=12), JSONISH, max_size=6), TYPES)
def test_any_object_parses_to_an_event_or_fails_with_event_error(
    fields: dict[str, object], kind: str
) -> None:
    """What a consumer is handed is a typed event or nothing: no other exception escapes."""
    for channel in (EVENTS, WAKE, ACCESS):
        try:
            event = channel.parse({**fields, "type": kind})
        except EventError:
            continue
        assert channel.parse(trip(to_wire(event))) == event
