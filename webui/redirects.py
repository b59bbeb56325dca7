"""Where a ``next`` parameter may send the browser: :func:`safe_next`, the one check used by
every handler that honours ``next`` (sign-in, the password form, the language menu).

Browsers and yarl drop tabs and line breaks from a URL and read ``\\`` as ``/``, so
``/\\t/evil.example`` becomes ``//evil.example``, another site. Rather than strip such
characters and hope, a target that holds any of them is refused outright: only a plain
same-site absolute path (printable ASCII, starting with one ``/``, no empty or dot segment in
the path) is kept, anything else becomes the default.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_NEXT_LENGTH = 2000
PRINTABLE_ASCII = re.compile(r"^[\x21-\x7e]+$")
"""No spaces, controls, or anything beyond ASCII: the encoded form a browser sends is ASCII."""
DOT_SEGMENT = re.compile(r"/\.{1,2}(?:/|$)")


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` when it is a local path of this site, else ``default``."""
    if not target or len(target) > MAX_NEXT_LENGTH or not PRINTABLE_ASCII.match(target):
        return default
    if not target.startswith("/") or "\\" in target:
        return default
    path = target.split("?", 1)[0].split("#", 1)[0]
    if "//" in path or DOT_SEGMENT.search(path):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
