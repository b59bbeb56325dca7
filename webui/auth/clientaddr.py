"""The client's address, honouring ``X-Forwarded-For`` / ``X-Forwarded-Proto`` only when the
direct peer is a trusted proxy (nginx)."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from aiohttp import web

from webui.options import IpNetwork


@functools.lru_cache(maxsize=4096)  # every request asks for its peer's, usually a handful
def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def in_networks(address: str, networks: Iterable[IpNetwork]) -> bool:
    parsed = parse_address(address)
    if parsed is None:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return any(parsed.version == net.version and parsed in net for net in networks)


def client_address(request: web.Request, trusted: tuple[IpNetwork, ...]) -> str:
    """The first address, from the right of ``X-Forwarded-For``, that is not a trusted proxy."""
    peer = request.remote or "unknown"
    if not in_networks(peer, trusted):
        return peer
    forwarded = request.headers.getall("X-Forwarded-For", [])
    hops = [hop.strip() for value in forwarded for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if parse_address(hop) is None:
            break
        if not in_networks(hop, trusted):
            return hop
    valid = [hop for hop in hops if parse_address(hop) is not None]
    return valid[0] if valid else peer


def is_https(request: web.Request, trusted: tuple[IpNetwork, ...]) -> bool:
    """True when the browser talks HTTPS: directly, or to a trusted proxy that says so."""
    if request.secure:
        return True
    if not in_networks(request.remote or "", trusted):
        return False
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https"
