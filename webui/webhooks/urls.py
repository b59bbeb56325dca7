"""Validation of webhook and callback URLs given by users and API clients.

A URL is parsed the way the delivery will parse it (yarl, as aiohttp does), must be absolute
http(s) with a plain host name or address, carries no credentials (deliveries are signed with
``X-Signature`` instead), and its host must pass the :class:`~webui.addresses.
AddressPolicy` — by name and address here, resolved in :func:`checked_webhook_url`.
"""

from __future__ import annotations

import re

from yarl import URL

from webui.addresses import (
    AddressPolicy,
    RefusedAddress,
    literal_address,
    resolve_and_check,
)

MAX_URL_LENGTH = 2000
LABEL = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
HOST_NAME = re.compile(rf"^{LABEL}(\.{LABEL})*\.?$")
ALLOW_HINT = "webhooks go to public addresses, or to LAN receivers listed in [web] webhook_allow"


class WebhookUrlError(ValueError):
    """Not a usable webhook URL; ``str()`` is one line. ``refused``: the URL is well formed
    but its host is not allowed."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


def parse_webhook_url(url: str, *, template: bool = False) -> URL:
    """``url`` parsed, when it is an absolute http(s) URL with a plain host and no
    credentials. ``template``: Kannel placeholders (``%p``…) may follow in path and query,
    never in the host."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() for ch in url):
        raise WebhookUrlError("the URL contains spaces")
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as exc:
        raise WebhookUrlError(f"{url!r} is not a URL: {exc}".splitlines()[0]) from None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise WebhookUrlError(f"{url!r} is not an http:// or https:// URL with a host")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise WebhookUrlError(
            "the URL carries a user name or password: deliveries are signed (X-Signature) instead"
        )
    host = parsed.raw_host
    if literal_address(host) is None and not HOST_NAME.match(host.lower()):
        hint = " (placeholders go in the path or query)" if template and "%" in host else ""
        raise WebhookUrlError(f"{host!r} is not a host name{hint}")
    return parsed


def check_webhook_url(url: str, policy: AddressPolicy, *, template: bool = False) -> str:
    """``url`` (stripped) when it is well formed and its host, as written, is allowed."""
    parsed = parse_webhook_url(url, template=template)
    try:
        policy.check_literal(parsed.raw_host or "")
    except RefusedAddress as exc:
        raise WebhookUrlError(f"{exc}; {ALLOW_HINT}", refused=True) from None
    return url.strip()


async def checked_webhook_url(url: str, policy: AddressPolicy, *, template: bool = False) -> str:
    """:func:`check_webhook_url`, then the addresses the host resolves to now."""
    checked = check_webhook_url(url, policy, template=template)
    try:
        await resolve_and_check(URL(checked).raw_host or "", policy)
    except RefusedAddress as exc:
        raise WebhookUrlError(f"{exc}; {ALLOW_HINT}", refused=True) from None
    return checked
