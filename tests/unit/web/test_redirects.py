"""``safe_next``: whatever a hostile ``next`` holds, what a browser makes of the redirect stays
on this site; plain local paths are kept as they are."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from tests.support.redirects import HOSTILE_NEXT
from webui.redirects import safe_next

SITE = URL("https://gw.example/")
TRICKY = [
    "/",
    "\\",
    "\t",
    "\n",
    "\r",
    " ",
    "\x00",
    "\x0b",
    "\x0c",
    "\u3000",
    "\u2028",
    ":",
    "@",
    "?",
    "#",
    ".",
    "%",
    "evil.example",
    "http",
    "javascript",
    "/\\",
    "\ufeff",
]


def lands_on_site(target: str) -> bool:
    """Would an aiohttp ``Location: target`` (as yarl writes it) keep a browser on this site?"""
    written = str(URL(target))
    resolved = SITE.join(URL(written))
    return (
        resolved.scheme == "https"
        and resolved.host == "gw.example"
        and resolved.port == 443
        and not written.startswith("//")
        and not resolved.path.startswith("//")
    )


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
def test_hostile_targets_become_the_default(hostile: str) -> None:
    assert safe_next(hostile) == "/"
    assert safe_next(hostile, default="/account") == "/account"


HOSTILE_PREFIX = st.lists(st.sampled_from(TRICKY) | st.text(max_size=2), max_size=6).map("".join)
HOST_TAIL = st.sampled_from(["evil.example/x", "evil.example", "x", ""])


@settings(max_examples=1500, deadline=None)
@given(st.tuples(HOSTILE_PREFIX, HOST_TAIL).map("".join))
def test_whatever_is_kept_stays_on_the_site(target: str) -> None:
    kept = safe_next(target)
    assert kept in (target, "/")
    assert lands_on_site(kept), repr(target)


SEGMENT = st.from_regex(r"[A-Za-z0-9_~%-][A-Za-z0-9_.~%-]{0,11}", fullmatch=True).filter(
    lambda s: s not in (".", "..")
)
QUERY = st.from_regex(r"[A-Za-z0-9_=&%+.,-]{0,20}", fullmatch=True)


@given(st.lists(SEGMENT, min_size=0, max_size=4), QUERY)
def test_plain_local_paths_are_kept(segments: list[str], query: str) -> None:
    target = "/" + "/".join(segments) + (f"?{query}" if query else "")
    assert safe_next(target) == target


def test_queries_may_hold_what_paths_may_not() -> None:
    assert safe_next("/outbox?next=//x&q=a%2Fb") == "/outbox?next=//x&q=a%2Fb"
    assert safe_next("/inbox/%2B5511987654321") == "/inbox/%2B5511987654321"
    assert safe_next(None) == "/" and safe_next("") == "/"
    assert safe_next("/" + "a" * 3000) == "/"
