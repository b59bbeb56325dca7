"""Who may send mail through the email-to-SMS server.

Two ways in (docs/automation.md):

* **SMTP AUTH** (PLAIN or LOGIN, only after STARTTLS): the user name is a client account's
  name (or its SMPP ``system_id``), the password an API key of role operator belonging to that
  account. The account must be live and allow the client's address; its limits and quotas
  apply to what the mail sends. Failed AUTH is counted like a failed sign-in or SMPP bind
  (:mod:`webui.auth.throttle`, under ``smtp:<user name>``): past the limit that pair (or, past
  its own limit, the client's address) is locked out for the window, the right key included.
* **Allow-lists**: a client in ``[smtp] allowed_networks`` and/or an envelope sender in
  ``[smtp] allowed_senders`` (both must match when both are set) may send without AUTH, as the
  account ``[smtp] account`` names (none: unlimited).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

import structlog
from sqlalchemy import func, select

from gatewayd.config import SmtpSettings
from gatewayd.store import Database, Role, accounts
from webui.auth import throttle
from webui.auth.apikeys import identify_key
from webui.auth.throttle import ThrottlePolicy
from webui.services.accounts import Account, load_account
from webui.services.caller import Caller

log = structlog.get_logger("webui.smtp")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ACTOR = 100
SMTP_THROTTLE_PREFIX = "smtp:"
"""Failed AUTH is counted under ``smtp:<user name>``, apart from web sign-ins and SMPP binds."""
UNKNOWN_ADDRESS = "unknown"

Refusal = Literal["invalid", "locked_out"]


@dataclass(frozen=True)
class Authenticated:
    """A session that passed SMTP AUTH: the key's id and its account."""

    key_id: int
    account: Account


def client_ip(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if address is None:
        return None
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class Access:
    """The allow-lists of ``[smtp]``, parsed once, and AUTH against the database."""

    def __init__(
        self, settings: SmtpSettings, db: Database, throttle_policy: ThrottlePolicy | None = None
    ) -> None:
        self.db = db
        self.throttle_policy = throttle_policy or ThrottlePolicy()
        self.networks: tuple[IpNetwork, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in settings.allowed_networks
        )
        self.senders = frozenset(settings.allowed_senders)
        self.account_name = settings.account
        self._account: Account | None = None

    @property
    def allow_lists(self) -> bool:
        return bool(self.networks or self.senders)

    def allowed(self, address: str | None, sender: str) -> bool:
        """Whether mail from ``sender`` by a client at ``address`` may come in without AUTH."""
        if not self.allow_lists:
            return False
        if self.networks:
            ip = client_ip(address)
            if ip is None or not any(ip in network for network in self.networks):
                return False
        if self.senders:
            sender = sender.strip().lower()
            domain = "@" + sender.rpartition("@")[2]
            if sender not in self.senders and domain not in self.senders:
                return False
        return True

    async def authenticate(
        self, user: str, password: str, address: str | None
    ) -> Authenticated | Refusal:
        """The key and account SMTP AUTH names; ``"invalid"`` (wrong, revoked, viewer key,
        address outside the account's networks: one failure more for this address and name) or
        ``"locked_out"`` (too many failures: not even checked)."""
        user = user.strip()
        where = address or UNKNOWN_ADDRESS
        key = SMTP_THROTTLE_PREFIX + "".join(ch if ch.isprintable() else "?" for ch in user)
        async with self.db.begin() as conn:
            if await throttle.refusal(conn, self.throttle_policy, where, key):
                log.warning("SMTP AUTH locked out", user=user[:64], client=address)
                return "locked_out"
        found = await self._check(user, password, address)
        async with self.db.begin() as conn:
            if found is None:
                await throttle.record_failure(conn, self.throttle_policy, where, key, "smtp")
                log.warning("Failed SMTP AUTH", user=user[:64], client=address)
                return "invalid"
            await throttle.forget_pair(conn, where, key)
        return found

    async def _check(self, user: str, password: str, address: str | None) -> Authenticated | None:
        if not user or len(user) > 200 or "\x00" in user or "\x00" in password:
            return None
        async with self.db.begin() as conn:  # identify_key notes when the key was last used
            identity = await identify_key(conn, password)
            if identity is None or identity.account_id is None:
                return None
            if identity.role not in (Role.OPERATOR, Role.ADMIN):
                return None
            account = await load_account(conn, identity.account_id)
        if account is None or account.revoked:
            return None
        if user.lower() != account.name.lower() and user != account.system_id:
            return None
        if not account.allows_address(address):
            return None
        return Authenticated(identity.id, account)

    async def allow_listed_account(self) -> Account | None:
        """The account allow-listed mail sends as (read once), or None."""
        if self.account_name is None:
            return None
        if self._account is None:
            async with self.db.read() as conn:
                query = select(accounts.c.id).where(
                    accounts.c.name_key == func.lower(self.account_name.strip())
                )
                found = (await conn.execute(query)).scalar_one_or_none()
                account = await load_account(conn, found) if found is not None else None
            if account is None:
                raise LookupError(f"[smtp] account {self.account_name!r} does not exist")
            self._account = account
        return self._account


def caller_for(
    authenticated: Authenticated | None,
    sender: str,
    address: str | None,
    account: Account | None,
) -> Caller:
    """Who the mail's messages are sent by: the AUTH key, else ``smtp:<sender>``."""
    if authenticated is not None:
        return Caller(f"api_key:{authenticated.key_id}", address, authenticated.account)
    printable = "".join(ch if ch.isprintable() else "?" for ch in sender)
    return Caller(("smtp:" + printable)[:MAX_ACTOR], address, account)
