"""Phone numbers as people type them: how a list of recipients is split, and the one wording
of a refused number shared by compose, contacts, groups, CSV imports and the API.

Numbers are split on commas, semicolons and new lines only, so ``+55 11 99000-0002`` (spaces
and dashes as people write them) stays one number. A refused number is
:class:`~webui.services.errors.Invalid` ``invalid_number`` whose message is one of
:data:`NUMBER_PROBLEMS` (English; the pages show the same sentence translated) and whose detail
carries ``to`` (as typed) and ``reason``.
"""

from __future__ import annotations

import re

from gatewayd.numbers import InvalidNumber, normalise
from webui.services.errors import Invalid


def N_(message: str) -> str:
    """Mark a sentence for the translation catalogue; the pages translate it when shown."""
    return message


NUMBER_PROBLEMS = {
    "empty": N_("A number is empty."),
    "no_country_code": N_(
        "“%(number)s” has no country code: write it with + and the country code "
        "(such as +55 11 98765-4321), or set the default country."
    ),
    "not_a_number": N_("“%(number)s” is not a phone number."),
    "invalid": N_("“%(number)s” is not a valid phone number."),
}
"""Why a number was refused (``InvalidNumber.reason``) → the sentence that says so."""

SEPARATORS = re.compile(r"[,;\r\n]+")


def split_recipients(text: str) -> list[str]:
    """The numbers of a recipients box: split on commas, semicolons and new lines (never on
    spaces, which people write inside numbers), trimmed, empty items dropped."""
    return [item.strip() for item in SEPARATORS.split(text) if item.strip()]


def number_problem(number: str, reason: str) -> str:
    """The English sentence for ``number`` refused for ``reason``."""
    template = NUMBER_PROBLEMS.get(reason, NUMBER_PROBLEMS["invalid"])
    return template % {"number": number.strip()[:64]}


def refusal_reason(number: str, region: str | None) -> str:
    """Why ``number`` is refused (a key of :data:`NUMBER_PROBLEMS`); ``invalid`` when it is in
    fact valid (the caller refused it for another reason)."""
    try:
        normalise(number, region)
    except InvalidNumber as exc:
        return exc.reason
    return "invalid"


def invalid_number(number: str, reason: str, field: str) -> Invalid:
    return Invalid(
        "invalid_number", number_problem(number, reason), field, to=number, reason=reason
    )


def check_number(number: str, region: str | None, field: str = "number") -> str:
    """``number`` in E.164, or :class:`Invalid` ``invalid_number`` in the shared wording."""
    try:
        return normalise(number, region)
    except InvalidNumber as exc:
        raise invalid_number(number, exc.reason, field) from None
