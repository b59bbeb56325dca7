"""Which phone number a mail's recipient names: the local part of ``<number>@<any domain>``.

``+5511987654321@sms.example``, ``5511987654321@…`` (international without ``+``) and, with a
default region, national numbers (``11987654321@…`` in BR) are accepted; spaces, dots, dashes
and parentheses in the local part are ignored. Digits without ``+`` are read as national first
(when a default region is set) and else as international.
"""

from __future__ import annotations

import re

from gatewayd.numbers import InvalidNumber, normalise

SEPARATORS = re.compile(r"[\s.\-()]")
DIGITS = re.compile(r"\+?[0-9]{3,20}")


def number_of(address: str, default_region: str | None) -> str | None:
    """The E.164 number ``address`` is for, or None when it names none."""
    local, at, _domain = address.rpartition("@")
    if not at:
        local = address
    local = SEPARATORS.sub("", local.strip().strip('"'))
    if not DIGITS.fullmatch(local):
        return None
    candidates = [local] if local.startswith("+") else []
    if not candidates:
        if default_region is not None:
            candidates.append(local)
        candidates.append("+" + local)
    for candidate in candidates:
        try:
            return normalise(candidate, default_region)
        except InvalidNumber:
            continue
    return None
