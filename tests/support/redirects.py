"""Hostile values for a ``next`` parameter: each would send a browser to another site if a
redirect honoured it (browsers drop tabs and line breaks and read ``\\`` as ``/``)."""

from __future__ import annotations

HOSTILE_NEXT = [
    "/\t/evil.example/x",
    "/\n/evil.example/x",
    "/\r\n/evil.example/x",
    "/\r/evil.example/x",
    "\t//evil.example/x",
    "/\x0b/evil.example/x",
    "\x01//evil.example/x",
    "/\\evil.example/x",
    "/\\/evil.example/x",
    "\\\\evil.example/x",
    "//evil.example/x",
    "///evil.example/x",
    "/ /evil.example/x",
    "https://evil.example/x",
    "HTTPS:/\t/evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example/x",
    "/..//evil.example/x",
    "/\u3000/evil.example/x",
    "/\u2028/evil.example/x",
]
