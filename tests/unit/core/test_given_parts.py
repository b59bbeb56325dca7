"""A message that is one part of a message its sender split itself (an SMPP client's UDH or
sar_* parts): encoded as that one SMS with the sender's concatenation header, refused when it
does not fit one SMS, validated before anything is written."""

from __future__ import annotations

import pytest

from gatewayd.queue import InvalidMessage, NewMessage, prepare
from gatewayd.sms import Concat, TextTooLong, decode_pdu, encode_submit

TO = "+5511987654321"


@pytest.mark.parametrize(
    ("text", "part", "encoding"),
    [
        ("a" * 153, Concat(7, 3, 1), "gsm7"),
        ("€" * 76 + "a", Concat(7, 3, 2), "gsm7"),  # escapes cost two septets: 153
        ("ж" * 67, Concat(7, 2, 2), "ucs2"),
        ("ж" * 66, Concat(4000, 2, 1), "ucs2"),  # a 16-bit reference takes one octet more
    ],
)
def test_a_given_part_is_one_pdu_with_that_header(text: str, part: Concat, encoding: str) -> None:
    [encoded] = encode_submit(TO, text, part_of=part, status_report=True)
    decoded = decode_pdu(encoded.pdu)
    assert decoded.concat == part
    assert decoded.text == text and decoded.encoding == encoding


@pytest.mark.parametrize(
    ("text", "part"),
    [("a" * 154, Concat(7, 3, 1)), ("ж" * 68, Concat(7, 2, 1)), ("ж" * 67, Concat(4000, 2, 1))],
)
def test_a_part_that_does_not_fit_one_sms(text: str, part: Concat) -> None:
    with pytest.raises(TextTooLong):
        encode_submit(TO, text, part_of=part)
    with pytest.raises(InvalidMessage) as refused:
        prepare(NewMessage(to=TO, text=text, part_of=part))
    assert refused.value.code == "text_too_long" and f"part {part.seq} of" in str(refused.value)


@pytest.mark.parametrize("part", [Concat(1, 2, 3), Concat(1, 0, 0), Concat(70000, 2, 1)])
def test_impossible_parts_are_refused(part: Concat) -> None:
    with pytest.raises(InvalidMessage) as refused:
        prepare(NewMessage(to=TO, text="hi", part_of=part))
    assert refused.value.code == "invalid_part" and refused.value.field == "part_of"


def test_prepared_parts_keep_the_senders_reference() -> None:
    prepared = prepare(NewMessage(to=TO, text="b" * 100, part_of=Concat(200, 2, 2)))
    assert prepared.concat_ref == 200 and len(prepared.pdus) == 1
    whole = prepare(NewMessage(to=TO, text="b" * 200))
    assert len(whole.pdus) == 2 and whole.concat_ref is not None
