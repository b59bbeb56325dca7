"""Which addresses webhooks may reach: public ones, plus the LAN receivers an admin lists.

Webhook, callback and Kannel ``dlr-url`` URLs come from API clients; left unchecked they make
the gateway a proxy into its own network (loopback, the cloud metadata address
169.254.169.254, private ranges). :class:`AddressPolicy` says what is allowed: every globally
routable unicast address, and the networks and host names of ``[web] webhook_allow``. It is
applied twice: when a URL is given (:mod:`webui.webhooks.urls`) and again when a delivery
connects (:class:`GuardedResolver`), because a name may resolve elsewhere by then (DNS
rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
LOCAL_NAMES = ("localhost", "localhost.localdomain")


class RefusedAddress(OSError):
    """A webhook host is, or resolves to, an address the policy does not allow."""


def embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is where it goes."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IpAddress) -> bool:
    """Globally routable unicast: not loopback, link-local, private, shared, reserved or
    multicast, whatever IPv6 wrapping it comes in."""
    inner = embedded_ipv4(address)
    if inner is not None:
        if address in NAT64 or getattr(address, "ipv4_mapped", None) is not None:
            return is_public(inner)  # the IPv4 address it stands for decides
        if not is_public(inner):
            return False  # 6to4 relays towards a non-public address
    return address.is_global and not address.is_multicast and not address.is_reserved


def literal_address(host: str) -> IpAddress | None:
    """``host`` as an IP address when it is one (brackets and zone ids dropped)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def is_legacy_ipv4(host: str) -> bool:
    """``2130706433``, ``0x7f.1``, ``127.1``: forms the C library reads as IPv4 addresses."""
    if literal_address(host) is not None:
        return False
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def normal_name(host: str) -> str:
    return host.strip().rstrip(".").lower()


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses always; private ones only inside ``networks`` or for ``hosts``."""

    networks: tuple[IpNetwork, ...] = ()
    hosts: tuple[str, ...] = ()
    """Exact host names (lower case), or ``*.example.lan`` for every name under a domain."""

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AddressPolicy:
        """Entries of ``[web] webhook_allow`` (checked by the settings loader): networks
        (CIDR) and addresses, else host names."""
        networks: list[IpNetwork] = []
        hosts: list[str] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                hosts.append(normal_name(entry))
        return cls(tuple(networks), tuple(host for host in hosts if host))

    def allows_name(self, host: str) -> bool:
        name = normal_name(host)
        return any(
            name == entry or (entry.startswith("*.") and name.endswith(entry[1:]))
            for entry in self.hosts
        )

    def allows_address(self, address: IpAddress) -> bool:
        inner = embedded_ipv4(address)
        if any(
            address in network or (inner is not None and inner in network)
            for network in self.networks
        ):
            return True
        return is_public(address)

    def check_literal(self, host: str) -> None:
        """Raise :class:`RefusedAddress` when ``host`` is a name for this machine or an
        address the policy refuses; names that need resolving pass."""
        if self.allows_name(host):
            return
        name = normal_name(host)
        if name in LOCAL_NAMES or name.endswith(".localhost"):
            raise RefusedAddress(f"{host} is this machine")
        if is_legacy_ipv4(name):
            raise RefusedAddress(f"{host} is not an address in the usual a.b.c.d form")
        address = literal_address(name)
        if address is not None and not self.allows_address(address):
            raise RefusedAddress(f"{address} is {describe(address)}")

    def check_resolved(self, host: str, addresses: Iterable[str]) -> None:
        """Raise :class:`RefusedAddress` unless every address ``host`` resolved to is allowed
        (or the name itself is listed)."""
        if self.allows_name(host):
            return
        for text in addresses:
            address = literal_address(text)
            if address is None or not self.allows_address(address):
                shown = address if address is not None else text
                raise RefusedAddress(f"{host} resolves to {shown}, {describe(address)}")


def describe(address: IpAddress | None) -> str:
    if address is None:
        return "not an address"
    inner = embedded_ipv4(address) or address
    for attribute, words in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "the unspecified address"),
        ("is_private", "a private address"),
    ):
        if getattr(inner, attribute):
            return words
    return "not a public address"


class GuardedResolver(AbstractResolver):
    """Resolves with the system's resolver (``/etc/hosts`` included), then refuses the whole
    answer when any address in it is not allowed: the connector only ever connects to
    checked addresses."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.policy.check_literal(host)
        results = await self.inner.resolve(host, port, family)
        self.policy.check_resolved(host, (result["host"] for result in results))
        return results

    async def close(self) -> None:
        await self.inner.close()


async def resolve_and_check(host: str, policy: AddressPolicy, timeout: float = 2.0) -> None:
    """At input: :meth:`AddressPolicy.check_literal`, then the addresses ``host`` resolves to
    now. A name that does not resolve (yet) passes; the delivery checks again."""
    policy.check_literal(host)
    if policy.allows_name(host) or literal_address(host) is not None:
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout
        )
    except (OSError, UnicodeError, TimeoutError):
        return
    policy.check_resolved(host, (str(info[4][0]) for info in infos))
