"""The mail address the API documents is the one the server takes: a string matches the
published pattern exactly when :func:`mail_address` accepts it (both read by the pattern's own
rules, so a client validating against the document is never refused for its address)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from webui.services.errors import Invalid
from webui.services.mail_outbox import ADDRESS_PATTERN, mail_address

PATTERN = re.compile(ADDRESS_PATTERN)
PIECES = st.sampled_from(
    ["a", "Z", "9", ".", "-", "@", " ", "\t", "\x1c", "\x00", "\u2028", "\xa0", "é", "<", "\\"]
)


def accepted(value: str) -> bool:
    try:
        mail_address(value)
    except Invalid:
        return False
    return True


@given(st.lists(PIECES, max_size=12).map("".join) | st.text(max_size=20))
def test_the_pattern_and_the_check_agree(value: str) -> None:
    assert bool(PATTERN.fullmatch(value)) == accepted(value), repr(value)


def test_everyday_addresses_and_refusals() -> None:
    for good in ("ops@example.com", " noc@example.org\n", "ana.maria+alerts@mail.example.com"):
        assert accepted(good) and PATTERN.fullmatch(good)
    for bad in ("ops\x1c@example.com", "o\x00ps@example.com", "a b@x.org", "x@-bad", "@x.org"):
        assert not accepted(bad) and not PATTERN.fullmatch(bad)
