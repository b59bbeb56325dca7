"""Web-side options derived once at start-up from the settings.

Everything here is read by middlewares and views through ``app[OPTIONS]``; tests build their
own :class:`WebOptions` to shorten timeouts.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any

from gatewayd.commands import command_key
from gatewayd.config import Settings
from webui.addresses import AddressPolicy

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


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
    trusted_proxies: tuple[IpNetwork, ...] = ()
    """Who may set ``X-Forwarded-For`` / ``X-Forwarded-Proto`` (``[web] trusted_proxies``);
    empty: nobody, the direct peer is the client."""
    metrics_allow: tuple[IpNetwork, ...] = ()
    slow_request_ms: int = 500
    session_max_age: int = 12 * 3600
    """Seconds a login lasts."""
    pair_failure_limit: int = 5
    """Failed sign-ins (or password checks) of one user name from one address within
    ``failure_window_minutes`` that refuse that name to that address
    (:mod:`webui.auth.throttle`)."""
    address_failure_limit: int = 20
    """Failed sign-ins from one address within ``failure_window_minutes`` that block it."""
    failure_window_minutes: float = 15.0
    password_checks_at_once: int = 2
    """argon2 checks running at once (in threads, off the event loop)."""
    password_checks_waiting: int = 32
    """Checks that may wait for a free slot; past that a sign-in answers 503 at once."""
    live_streams_per_user: int = 8
    """Open ``/events`` streams one user or API key may hold in one web process."""
    two_factor_pending_seconds: int = 300
    """How long a sign-in waits for its second factor after the right password."""
    command_timeout: float = 30.0
    """Seconds to wait for gatewayd to answer a USSD or restart command (``[web]
    command_timeout``)."""
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
    """Run the webhook dispatcher, the rules on incoming SMS, the mail sender and the alert
    evaluator in this process."""
    alert_interval: float = 15.0
    """Seconds between two evaluations of the alerts (``[web] alert_interval``)."""
    client_max_size: int = 8 * 1024 * 1024
    """Largest request body accepted (a CSV of 10,000 numbers with texts fits)."""

    @property
    def command_key(self) -> bytes:
        """Seals operator commands for gatewayd (:mod:`gatewayd.commands`)."""
        return command_key(self.secret_key)


def options_from_settings(settings: Settings, **overrides: Any) -> WebOptions:
    """Options for ``settings``; raise :class:`OptionsError` when there is no secret key."""
    secret_key = settings.web.secret_key
    if not secret_key:
        raise OptionsError(
            "no secret key: set SMSGW_SECRET_KEY or SMSGW_SECRET_KEY_FILE (e.g. to the output of "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    options = WebOptions(
        secret_key=secret_key,
        trusted_proxies=parse_networks(list(settings.web.trusted_proxies)),
        metrics_allow=parse_networks(list(settings.web.metrics_allow)),
        slow_request_ms=settings.web.slow_request_ms,
        live_streams_per_user=settings.web.live_streams_per_user,
        command_timeout=settings.web.command_timeout,
        alert_interval=settings.web.alert_interval,
        webhook_policy=AddressPolicy.parse(settings.web.webhook_allow),
    )
    return replace(options, **overrides) if overrides else options
