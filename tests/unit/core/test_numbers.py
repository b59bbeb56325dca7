import random

import phonenumbers
import pytest

from gatewayd.numbers import (
    _PLAIN_E164,
    InvalidNumber,
    _valid_as_written,
    normalise,
    same_subscriber,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+55 11 98765-4321", None, "+5511987654321"),
        ("0055 11 98765 4321", None, "+5511987654321"),
        ("(11) 98765-4321", "BR", "+5511987654321"),
        ("+351 912 345 678", None, "+351912345678"),
        ("912345678", "pt", "+351912345678"),
    ],
)
def test_normalise_valid(raw: str, region: str | None, expected: str) -> None:
    assert normalise(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "fragment"),
    [
        ("", None, "empty"),
        ("98765-4321", None, "no country code"),
        ("+999 123", None, "not"),
        ("hello", "BR", "not a phone number"),
        ("+55 11 1234", None, "not a valid"),
    ],
)
def test_normalise_invalid(raw: str, region: str | None, fragment: str) -> None:
    with pytest.raises(InvalidNumber) as info:
        normalise(raw, region)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_same_subscriber_tolerates_formats() -> None:
    assert same_subscriber("+5511987654321", "11987654321")
    assert same_subscriber("+5511987654321", "5511987654321")
    assert not same_subscriber("+5511987654321", "+5511987654322")
    assert not same_subscriber("", "+5511987654321")
    assert not same_subscriber("12345", "12345 ".strip() + "9")


def _full_way(raw: str) -> str | InvalidNumber:
    """What ``normalise`` answered before numbers in E.164 took the short way."""
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        return InvalidNumber(str(exc))
    if not phonenumbers.is_valid_number(parsed):
        return InvalidNumber("invalid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _e164_samples() -> list[str]:
    """Every region's example numbers of every type in E.164, each with its last digit and
    its length changed, national prefixes written after the country code, and random digits."""
    samples: set[str] = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in range(12):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            cc = str(example.country_code)
            national = e164[1 + len(cc) :]
            samples.update(
                {
                    e164,
                    e164[:-1] + str((int(e164[-1]) + 1) % 10),
                    e164[:-1],
                    e164 + "5",
                    f"+{cc}0{national}",
                    f"+{cc}1{national}",
                    f"+{cc}90{national}",
                }
            )
    rng = random.Random(20261205)
    for _ in range(20_000):
        samples.add(
            "+"
            + str(rng.randrange(1, 10))
            + "".join(rng.choices("0123456789", k=rng.randrange(6, 15)))
        )
    return sorted(samples)


def test_numbers_in_e164_get_the_answer_of_the_full_parse() -> None:
    samples = _e164_samples()
    short_way = 0
    for raw in samples:
        expected = _full_way(raw)
        short_way += _PLAIN_E164.fullmatch(raw) is not None and _valid_as_written(raw)
        if isinstance(expected, InvalidNumber):
            with pytest.raises(InvalidNumber):
                normalise(raw)
        else:
            assert normalise(raw) == expected, raw
            assert normalise(raw, "BR") == expected, raw
    assert short_way > 1000  # the short way is taken, not only the full one


@pytest.mark.parametrize(
    "raw",
    [
        "+390612345678",  # Italy: a leading zero parse() keeps apart
        "+4402079460958",  # a national prefix after the country code, stripped by parse()
        "+80012345678",  # non-geographic (freephone)
        "+5511987654321",
    ],
)
def test_rewritten_or_unusual_numbers_match_the_full_parse(raw: str) -> None:
    expected = _full_way(raw)
    assert not isinstance(expected, InvalidNumber)
    assert normalise(raw) == expected


def test_refused_e164_numbers_keep_their_message() -> None:
    with pytest.raises(InvalidNumber) as info:
        normalise("+5511123")
    assert str(info.value) == "'+5511123' is not a valid phone number"
