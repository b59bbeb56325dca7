"""Regular expressions of the OpenAPI document for values the services check by code: each
matches only values the service takes (a CIDR network, a cron line, a rule's keyword...), so a
request the document allows is not refused for its form.

They are written for three engines at once (pydantic's, which validates requests; Python's
``re``, which schemathesis and hypothesis use; ECMA-262, which JSON Schema names): ASCII
classes and escapes only, and ``\\s`` always with ``\\x1c-\\x1f``, the separators Python's
``str.split()`` counts as white space and Unicode does not.
"""

from __future__ import annotations

from gatewayd.queue.schedule import CRON_LIMITS


def whole(pattern: str) -> str:
    """``pattern`` (written for ``fullmatch``) anchored at both ends."""
    return f"^(?:{pattern})$"


SPACE = r"\s\x1c-\x1f"
"""What ``str.split()`` and ``str.strip()`` take for white space."""
NOT_BLANK = rf"^[^\x00]*[^{SPACE}\x00][^\x00]*$"
"""A text with something besides white space, and no NUL character."""
KEYWORD = rf"^[^{SPACE}\x00]*$"
"""One word: no white space (empty: no keyword)."""
NUMBER_OR_PREFIX = r"^(?:\+?[0-9]{1,15})?$"
HH_MM = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"
TIME_ZONE = r"^[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+){0,3}$"
"""The form of an IANA time zone name (America/Sao_Paulo, Etc/GMT+3); whether the zone exists
is the service's to say."""

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H = r"[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join(
    (
        rf"(?:{_H}:){{7}}{_H}",
        rf"(?:{_H}:){{1,7}}:",
        rf"(?:{_H}:){{1,6}}:{_H}",
        rf"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}",
        rf"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}",
        rf"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}",
        rf"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
        rf"{_H}:(?::{_H}){{1,6}}",
        rf":(?:(?::{_H}){{1,7}}|:)",
    )
)
CIDR = (
    rf"^(?:{_IPV4}(?:/(?:3[0-2]|[12]?[0-9]))?"
    rf"|(?:{_IPV6})(?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$"
)
"""An IPv4 or IPv6 network, its prefix length optional (an address is a network of one)."""


_CRON_NUMBERS = {
    (0, 59): "[0-5]?[0-9]",
    (0, 23): "[01]?[0-9]|2[0-3]",
    (1, 31): "0?[1-9]|[12][0-9]|3[01]",
    (1, 12): "0?[1-9]|1[0-2]",
    (0, 7): "0?[0-7]",
}
"""Per field's limits, its numbers written with at most two digits."""


def _cron_field(low: int, high: int) -> str:
    number = f"(?:{_CRON_NUMBERS[low, high]})"
    part = rf"(?:\*|{number}(?:-{number})?)(?:/[1-9][0-9]{{0,5}})?"
    return f"{part}(?:,{part})*"


CRON = "^" + " +".join(_cron_field(low, high) for low, high in CRON_LIMITS) + "$"
"""Five cron fields (minute hour day month weekday), each ``*``, a number or a range, with an
optional ``/step``, or a list of those; numbers within the field's limits. That a range does not
run backwards (``5-3``) is the service's to say."""
