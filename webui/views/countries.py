"""Country names for the default-country choice, in the page's language (from Babel's CLDR
data), for every country phonenumbers can read numbers of."""

from __future__ import annotations

from functools import cache

import phonenumbers
from babel import Locale

from webui.i18n import current_lang


@cache
def _names(lang: str) -> dict[str, str]:
    territories = Locale.parse(lang.replace("-", "_")).territories
    return {
        code: str(territories.get(code, code))
        for code in phonenumbers.SUPPORTED_REGIONS
        if code != "001"
    }


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return _names(current_lang()).get(code.upper(), code.upper())


def country_choices() -> list[tuple[str, str]]:
    """``(code, name)`` of every country, sorted by name in the page's language."""
    names = _names(current_lang())
    return sorted(names.items(), key=lambda item: item[1].casefold())


def calling_code(code: str | None) -> int | None:
    return phonenumbers.country_code_for_region(code.upper()) or None if code else None
