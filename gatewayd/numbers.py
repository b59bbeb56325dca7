"""Phone numbers: validation and normalisation to E.164, and loose matching for reports.

Numbers typed by people or API clients go through :func:`normalise` (phonenumbers does the
parsing; ``parse()`` alone does not validate, so ``is_valid_number()`` is always asked).
Numbers that come back from the network in status reports may be national or international;
:func:`same_subscriber` compares them tolerantly.

A number already written in E.164 (``+`` and digits only, the usual case in large batches) is
checked without ``parse()``: the number is built from its country code and national digits
exactly as ``parse()`` would build it, and ``is_valid_number()`` decides as always. Whatever
``parse()`` might rewrite (a national prefix it would strip, leading zeros, non-geographic
codes) and every refusal go the full way, so answers and error messages are the same.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumber


class InvalidNumber(ValueError):
    """A recipient that is not a valid phone number; the message says why in one line and
    ``reason`` names the kind: ``empty``, ``no_country_code``, ``not_a_number`` or
    ``invalid``."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


def normalise(number: str, default_region: str | None = None) -> str:
    """Return ``number`` in E.164 (``+5511987654321``) or raise :class:`InvalidNumber`."""
    raw = number.strip()
    if not raw:
        raise InvalidNumber("the number is empty", "empty")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    region = default_region.upper() if default_region else None
    if _PLAIN_E164.fullmatch(raw) and _valid_as_written(raw):
        return raw
    if not any(ch.isdigit() for ch in raw):
        raise InvalidNumber(f"{number!r} is not a phone number: no digits", "not_a_number")
    if not raw.startswith("+") and region is None:
        raise InvalidNumber(
            f"{number!r} has no country code: write it as +<country><number> "
            "or set SMSGW_DEFAULT_REGION",
            "no_country_code",
        )
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(
            f"{number!r} is not a phone number: {_reason(exc)}", "not_a_number"
        ) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(f"{number!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_PLAIN_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
"""``+`` and 7 to 15 ASCII digits, the first not 0: E.164 as written by machines."""
_NON_GEOGRAPHIC = "001"


def _valid_as_written(raw: str) -> bool:
    """True when ``phonenumbers.parse(raw)`` would give back ``raw`` as a valid number; False
    when it would not, or might rewrite it (the caller then takes the full way)."""
    digits = raw[1:]
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return False
    national = digits[size:]
    if national[0] == "0":  # leading zeros are kept apart by parse()
        return False
    metadata, national_prefix = _region_of(country_code)
    if metadata is None or (national_prefix is not None and national_prefix.match(national)):
        return False  # parse() might strip what looks like a national prefix
    number = PhoneNumber(country_code=country_code, national_number=int(national))
    return bool(phonenumbers.is_valid_number(number))


@cache
def _region_of(country_code: int) -> tuple[PhoneMetadata | None, re.Pattern[str] | None]:
    """The main region's metadata of a country code and its national prefix pattern as
    ``parse()`` applies it; no metadata for non-geographic codes."""
    region = COUNTRY_CODE_TO_REGION_CODE[country_code][0]
    if region == _NON_GEOGRAPHIC:
        return None, None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return None, None
    prefix = metadata.national_prefix_for_parsing
    return metadata, re.compile(prefix) if prefix else None


def _reason(exc: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "not a number",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(exc.error_type, "cannot be parsed")


def digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


SUBSCRIBER_DIGITS = 8
"""How many trailing digits identify a subscriber when formats differ (national vs +CC)."""


def same_subscriber(a: str, b: str) -> bool:
    """True when two numbers, possibly one national and one international, are the same line."""
    da, db = digits(a), digits(b)
    if not da or not db:
        return False
    if da == db:
        return True
    n = min(len(da), len(db), SUBSCRIBER_DIGITS)
    if n < 6:
        return False
    return da[-n:] == db[-n:]


MIN_NATIONAL_DIGITS = 6
"""Fewest digits a national form must keep (leading zeros dropped) to name an international one."""


def recipient_rank(recipient: str, reported: str) -> int | None:
    """How closely ``reported`` names ``recipient``: 0 the same digits, 1 a national form
    ending the international one, 2 the loose same-subscriber rule, None not at all."""
    ours, theirs = digits(recipient), digits(reported)
    if ours == theirs:
        return 0
    shorter, longer = sorted((ours, theirs), key=len)
    shorter = shorter.lstrip("0")
    if len(shorter) >= MIN_NATIONAL_DIGITS and longer.endswith(shorter):
        return 1
    return 2 if same_subscriber(recipient, reported) else None
