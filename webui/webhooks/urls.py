"""Validation of webhook and callback URLs given by users and API clients."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000


class WebhookUrlError(ValueError):
    """Not a usable webhook URL; ``str()`` is one line."""


def check_webhook_url(url: str) -> str:
    """``url`` when it is an absolute http(s) URL with a host; LAN addresses are allowed."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookUrlError(f"{url!r} is not an http:// or https:// URL with a host")
    if any(ch.isspace() for ch in url):
        raise WebhookUrlError("the URL contains spaces")
    return url
