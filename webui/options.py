"""Web-side options derived once at start-up from the settings (and a few ``SMSGW_*`` extras).

Everything here is read by middlewares and views through ``app[OPTIONS]``; tests build their
own :class:`WebOptions` to shorten timeouts.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gatewayd.config import Settings
from webui.webhooks.addresses import AddressPolicy

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_TRUSTED_PROXIES = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)
"""Who may set ``X-Forwarded-For`` / ``X-Forwarded-Proto``: loopback and private networks,
where nginx runs in the Compose stack. ``SMSGW_TRUSTED_PROXIES`` (comma-separated CIDRs,
or ``none``) replaces the list."""

ENV_TRUSTED_PROXIES = "SMSGW_TRUSTED_PROXIES"
MIN_SECRET_KEY_LENGTH = 32


class OptionsError(ValueError):
    """A web option cannot be used; ``str()`` is one line."""


def parse_networks(values: tuple[str, ...] | list[str]) -> tuple[IpNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())
    except ValueError as exc:
        raise OptionsError(f"not an IP network: {exc}") from None


def session_key(secret_key: str) -> bytes:
    """The 32-byte cookie encryption key derived from the configured secret key."""
    return hashlib.sha256(b"smsgw-session\0" + secret_key.encode()).digest()


def fernet_key(secret_key: str) -> str:
    return base64.urlsafe_b64encode(session_key(secret_key)).decode()


@dataclass(frozen=True)
class WebOptions:
    secret_key: str = field(repr=False)
    trusted_proxies: tuple[IpNetwork, ...] = parse_networks(list(DEFAULT_TRUSTED_PROXIES))
    metrics_allow: tuple[IpNetwork, ...] = ()
    slow_request_ms: int = 500
    session_max_age: int = 12 * 3600
    """Seconds a login lasts."""
    lockout_threshold: int = 5
    """Wrong passwords in a row that lock an account."""
    lockout_minutes: float = 15.0
    address_failure_limit: int = 20
    """Failed logins from one address within ``address_window_minutes`` that block it."""
    address_window_minutes: float = 15.0
    command_timeout: float = 30.0
    """Seconds to wait for gatewayd to answer a USSD or restart command."""
    webhook_poll_interval: float = 2.0
    webhook_min_interval: float = 0.5
    """Seconds between two dispatcher rounds woken by live events: a burst of status
    events (several per message sent) becomes one round instead of one each."""
    webhook_timeout: float = 10.0
    webhook_max_attempts: int = 8
    webhook_backoff_base: float = 5.0
    """Seconds before the first retry; doubles each time."""
    webhook_backoff_cap: float = 3600.0
    webhook_commit_lag: float = 2.0
    """PostgreSQL: seconds a new event row waits before it becomes deliveries (see
    :mod:`webui.webhooks.derive`)."""
    webhook_policy: AddressPolicy = field(default_factory=AddressPolicy)
    """What webhook, callback and ``dlr-url`` URLs may reach: public addresses, plus
    ``[web] webhook_allow``."""
    run_dispatcher: bool = True
    client_max_size: int = 8 * 1024 * 1024
    """Largest request body accepted (a CSV of 10,000 numbers with texts fits)."""


def options_from_settings(
    settings: Settings, env: Mapping[str, str] = os.environ, **overrides: Any
) -> WebOptions:
    """Options for ``settings``; raise :class:`OptionsError` when there is no secret key."""
    secret_key = settings.web.secret_key
    if not secret_key:
        raise OptionsError(
            "no secret key: set SMSGW_SECRET_KEY (e.g. to the output of "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    proxies_text = env.get(ENV_TRUSTED_PROXIES, "").strip()
    if proxies_text.lower() == "none":
        proxies: tuple[IpNetwork, ...] = ()
    elif proxies_text:
        proxies = parse_networks(proxies_text.split(","))
    else:
        proxies = parse_networks(list(DEFAULT_TRUSTED_PROXIES))
    options = WebOptions(
        secret_key=secret_key,
        trusted_proxies=proxies,
        metrics_allow=parse_networks(list(settings.web.metrics_allow)),
        slow_request_ms=settings.web.slow_request_ms,
        webhook_policy=AddressPolicy.parse(settings.web.webhook_allow),
    )
    return replace(options, **overrides) if overrides else options


SECRET_KEY_FILE = "web_secret_key"


def with_embedded_secret_key(settings: Settings) -> Settings:
    """For ``gatewayd run --web``: the settings with a secret key, generated once and kept in
    ``<data_dir>/web_secret_key`` (mode 0600) when none is configured, so sign-ins survive a
    restart."""
    import secrets
    from dataclasses import replace as replace_settings

    if settings.web.secret_key:
        return settings
    path = settings.gateway.data_dir / SECRET_KEY_FILE
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if len(key) < MIN_SECRET_KEY_LENGTH:
        key = secrets.token_urlsafe(48)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
    return replace_settings(settings, web=replace_settings(settings.web, secret_key=key))
