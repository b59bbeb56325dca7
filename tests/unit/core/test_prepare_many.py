"""prepare_many: one text to many recipients gives exactly what prepare() gives each of them,
with the text checked and encoded once."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gatewayd.queue import InvalidMessage, NewMessage, prepare
from gatewayd.queue.enqueue import _address_hex, prepare_many
from gatewayd.sms import decode_pdu, encode_submit
from gatewayd.sms.address import encode_address

NUMBERS = [
    "+5511987654321",  # 13 digits: odd, padded with F
    "+14155552671",  # 11 digits
    "+442071838750",
    "+4915112345678",
    "+33612345678",
    "+8613812345678",
]
TEXTS = ["hi", "x" * 160, "x" * 161, "€" * 80, "Olá, tudo bem? " * 30, "a{b}c" * 70]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize(
    "options",
    [{}, {"flash": True, "status_report": False, "validity_minutes": 60}],
    ids=["default", "flash-validity"],
)
def test_every_recipient_gets_the_pdus_encode_submit_makes(
    text: str, options: dict[str, object]
) -> None:
    template = NewMessage(to="", text=text, **options)  # type: ignore[arg-type]
    prepared, problems = prepare_many(template, NUMBERS + NUMBERS[::-1])
    assert problems == []
    assert [p.recipient for p in prepared] == NUMBERS + NUMBERS[::-1]
    for p in prepared:
        expected = encode_submit(
            p.recipient,
            text,
            status_report=template.status_report,
            flash=template.flash,
            concat_ref=p.concat_ref if p.concat_ref is not None else 0,
            validity_minutes=template.validity_minutes,
        )
        assert p.pdus == tuple((e.pdu, e.tpdu_length) for e in expected)
        assert p.request.to == p.recipient
        assert decode_pdu(p.pdus[0][0]).recipient == p.recipient  # type: ignore[union-attr]


def test_matches_prepare_field_by_field() -> None:
    template = NewMessage(to="", text="Привет! " * 20, priority=5)
    prepared, _ = prepare_many(template, ["+5511987654321"])
    alone = prepare(NewMessage(to="+5511987654321", text=template.text, priority=5))
    assert prepared[0].encoding == alone.encoding == "ucs2"
    assert len(prepared[0].pdus) == len(alone.pdus) == 3  # 160 UCS-2 units, 67 a part
    assert prepared[0].request == alone.request
    assert (prepared[0].concat_ref is None) == (alone.concat_ref is None)


def test_bad_numbers_are_reported_by_index_and_the_rest_prepared() -> None:
    prepared, problems = prepare_many(
        NewMessage(to="", text="hi"), ["+5511987654321", "12345", "", "+14155552671"]
    )
    assert [p.recipient for p in prepared] == ["+5511987654321", "+14155552671"]
    assert [(p.index, p.to, p.error.code, p.error.field) for p in problems] == [
        (1, "12345", "invalid_number", "to"),
        (2, "", "invalid_number", "to"),
    ]


@pytest.mark.parametrize(
    ("template", "code"),
    [
        (NewMessage(to="", text="   "), "empty_text"),
        (NewMessage(to="", text="€" * 20000), "text_too_long"),
        (NewMessage(to="", text="x" * 153 * 256), "text_too_long"),
        (NewMessage(to="", text="hi", validity_minutes=1), "invalid_validity"),
        (NewMessage(to="", text="hi", priority=101), "invalid_priority"),
        (NewMessage(to="", text="a\ud800"), "invalid_text"),
        (NewMessage(to="", text="hi", send_at=datetime(2030, 1, 1)), "invalid_send_at"),
        (NewMessage(to="", text="hi", modem="nope"), "unknown_modem"),
    ],
)
def test_a_mistake_shared_by_all_recipients_is_raised_once(template: NewMessage, code: str) -> None:
    with pytest.raises(InvalidMessage) as raised:
        prepare_many(template, ["+5511987654321", "+14155552671"], known_modems={"m1"})
    assert raised.value.code == code


def test_shared_mistake_waits_for_a_valid_recipient_as_prepare_would() -> None:
    """All numbers bad: the numbers are the problem, not the (also bad) text."""
    prepared, problems = prepare_many(NewMessage(to="", text="   "), ["123", "456"])
    assert prepared == []
    assert [p.error.code for p in problems] == ["invalid_number", "invalid_number"]
    with pytest.raises(InvalidMessage) as raised:
        prepare(NewMessage(to="123", text="   "))
    assert raised.value.code == "invalid_number"


def test_send_at_far_ahead_is_refused_relative_to_now() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    template = NewMessage(to="", text="hi", send_at=now + timedelta(days=400))
    with pytest.raises(InvalidMessage):
        prepare_many(template, ["+5511987654321"], now=now)
    prepared, _ = prepare_many(template, ["+5511987654321"], now=now + timedelta(days=60))
    assert prepared[0].request.send_at == template.send_at


def test_the_address_field_is_what_encode_address_writes() -> None:
    rng = random.Random(7)
    numbers = [
        "+" + "".join(rng.choices("0123456789", k=n)) for n in range(1, 21) for _ in range(5)
    ]
    numbers += ["12345", "+", "+٣٤٥٦٧٨٩", "+" + "1" * 21]
    for number in numbers:
        try:
            expected = encode_address(number, role="recipient").hex().upper()
        except ValueError:
            with pytest.raises(ValueError):
                _address_hex(number)
            continue
        assert _address_hex(number) == expected, number


def test_multipart_messages_still_draw_their_own_reference() -> None:
    prepared, _ = prepare_many(NewMessage(to="", text="x" * 161), NUMBERS * 20)
    references = {p.concat_ref for p in prepared}
    assert None not in references and len(references) > 10
    single, _ = prepare_many(NewMessage(to="", text="hi"), NUMBERS)
    assert {p.concat_ref for p in single} == {None}
