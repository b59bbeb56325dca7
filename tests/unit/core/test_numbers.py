import pytest

from gatewayd.numbers import InvalidNumber, normalise, same_subscriber


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
