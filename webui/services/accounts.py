"""Client accounts, as every front door sees them: who a caller is (an API key's account, an
SMPP bind), where it may connect from, which modems its messages may leave by, and admission
of its messages against its throughput limit and quotas.

::

    accounts = Accounts(db, password_work, throttle_policy, create_buckets(redis_url))
    account = await accounts.authenticate_smpp(system_id, password, client_address)  # BindRefused
    account = await accounts.get(account_id)                                           # NotFound
    admission = await accounts.admit(account, len(messages))        # Throttled, QuotaExceeded
    try:
        ...insert the messages...
    except BaseException:
        await admission.give_back()
        raise

Admission takes throughput tokens first (:mod:`webui.services.throughput`), then quota
(:mod:`webui.services.quotas`, its own short transaction); a refusal of the quota returns the
tokens. An account without limits is admitted without any I/O. :class:`~webui.services.sending.
Sending` does all this for every sending path; the SMPP server maps the same errors to its
command statuses.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue import PreparedMessage
from gatewayd.store import MAX_SYSTEM_ID, Database, accounts, utc_now
from webui.auth import throttle
from webui.auth.passwords import PasswordWork
from webui.services import quotas
from webui.services.errors import BindReason, BindRefused, Invalid, NotFound, Throttled
from webui.services.quotas import Limits, Taken, Usage
from webui.services.throughput import Buckets

log = structlog.get_logger("webui.auth")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SMPP_THROTTLE_PREFIX = "smpp:"
"""Failed binds are counted under ``smpp:<system_id>`` so they never mix with the sign-in
failures of a web user of the same name."""


@dataclass(frozen=True)
class Account:
    """One client account, parsed. The SMPP password's hash is never part of it."""

    id: int
    name: str
    system_id: str | None = None
    smpp_enabled: bool = False
    """A system_id and an SMPP password are set."""
    tps: float | None = None
    """Messages per second at most; None: unlimited."""
    daily_quota: int | None = None
    monthly_quota: int | None = None
    allowed_networks: tuple[IpNetwork, ...] = ()
    """Client addresses it may connect from; empty: any."""
    allowed_modems: tuple[str, ...] = ()
    """Modems its messages may leave by; empty: any."""
    incoming_modems: tuple[str, ...] = ()
    """Modems whose incoming SMS go to its SMPP receivers; empty: none."""
    incoming_as_parts: bool = False
    webhook_url: str | None = None
    webhook_secret: str | None = None
    created_at: datetime | None = None
    created_by: str = "system"
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def limits(self) -> Limits:
        return Limits(self.daily_quota, self.monthly_quota)

    @property
    def unlimited(self) -> bool:
        """No throughput limit and no quota: admission costs nothing."""
        return self.tps is None and self.daily_quota is None and self.monthly_quota is None

    def allows_address(self, address: str | None) -> bool:
        """Whether a client at ``address`` may use the account (an unreadable or missing
        address only passes when any address may)."""
        if not self.allowed_networks:
            return True
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.allowed_networks)

    def allows_modem(self, modem: str) -> bool:
        return not self.allowed_modems or modem in self.allowed_modems


def parse_networks(values: Iterable[str]) -> tuple[IpNetwork, ...]:
    """CIDR strings as networks (host bits allowed: ``10.1.2.3/8`` is ``10.0.0.0/8``); raises
    ValueError naming the first one that is not a network."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not a network such as 10.0.0.0/8") from None
    return tuple(networks)


def _names(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def account_from_row(row: Any) -> Account:
    """An ``accounts`` row (every column selected) as an :class:`Account`."""
    try:
        networks = parse_networks(_names(row.allowed_networks))
    except ValueError:  # only a hand-edited row gets here: let nobody in rather than anyone
        log.error("Account has an invalid network", account_id=row.id)
        networks = (ipaddress.ip_network("0.0.0.0/32"),)
    return Account(
        id=row.id,
        name=row.name,
        system_id=row.system_id,
        smpp_enabled=row.system_id is not None and row.smpp_password_hash is not None,
        tps=row.tps,
        daily_quota=row.daily_quota,
        monthly_quota=row.monthly_quota,
        allowed_networks=networks,
        allowed_modems=_names(row.allowed_modems),
        incoming_modems=_names(row.incoming_modems),
        incoming_as_parts=bool(row.incoming_as_parts),
        webhook_url=row.webhook_url,
        webhook_secret=row.webhook_secret,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
    )


async def load_account(conn: AsyncConnection, account_id: int) -> Account | None:
    row = (await conn.execute(select(accounts).where(accounts.c.id == account_id))).first()
    return None if row is None else account_from_row(row)


@dataclass
class Admission:
    """Messages admitted for an account: give them back when they were not queued."""

    accounts: Accounts
    account: Account | None
    count: int
    tokens: bool = False
    taken: Taken | None = None

    async def give_back(self) -> None:
        """Undo the admission (once): tokens back to the bucket, the quota uncounted. Never
        raises: a quota that cannot be given back (the database is down) stays counted, which
        errs on the safe side."""
        account, taken, tokens = self.account, self.taken, self.tokens
        self.taken, self.tokens = None, False
        if account is None:
            return
        try:
            if taken is not None:
                async with self.accounts.db.begin() as conn:
                    await quotas.give_back(conn, taken)
            if tokens and account.tps is not None:
                await self.accounts.buckets.give_back(account.id, account.tps, self.count)
        except Exception as exc:
            log.warning("Admission not given back", account_id=account.id, error=str(exc))


CACHE_SECONDS = 5.0
"""How long :meth:`Accounts.current` trusts an account it read. A change made in this process,
or announced on the bus (:class:`~gatewayd.events.AccountChanged`), drops it at once; this only
bounds how long a lost announcement could leave a revoked account working."""


def _printable(text: str) -> str:
    """``text`` with what no column can store (NUL, unpaired surrogates) and other control
    characters replaced: a bind's system_id is hostile input until it matches an account."""
    return "".join(ch if ch.isprintable() else "?" for ch in text[:64])


class Accounts:
    """The client accounts of one process (a web process, the SMPP server)."""

    def __init__(
        self,
        db: Database,
        password_work: PasswordWork,
        throttle_policy: throttle.ThrottlePolicy,
        buckets: Buckets,
    ) -> None:
        self.db = db
        self.password_work = password_work
        self.throttle_policy = throttle_policy
        self.buckets = buckets
        self._cache: dict[int, tuple[float, Account | None]] = {}

    async def current(self, account_id: int) -> Account | None:
        """The account as read at most :data:`CACHE_SECONDS` ago; None when it does not exist.
        For the request path: an API key's every request needs its account."""
        now = time.monotonic()
        cached = self._cache.get(account_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.db.read() as conn:
            account = await load_account(conn, account_id)
        if len(self._cache) >= 10_000:
            self._cache.clear()
        self._cache[account_id] = (now + CACHE_SECONDS, account)
        return account

    def forget(self, account_id: int) -> None:
        """Drop a changed account from the cache."""
        self._cache.pop(account_id, None)

    async def get(self, account_id: int) -> Account:
        """The account (revoked ones too: callers check :attr:`Account.revoked`)."""
        async with self.db.read() as conn:
            account = await load_account(conn, account_id)
        if account is None:
            raise NotFound("not_found", f"account {account_id} does not exist")
        return account

    async def authenticate_smpp(
        self, system_id: str, password: str, client_address: str
    ) -> Account:
        """The live account an SMPP bind names, or :class:`BindRefused`.

        Failures of one address for one system_id are counted like failed sign-ins
        (:mod:`webui.auth.throttle`, kind ``smpp``): past the limit that pair (or, past its
        own limit, the address) is ``locked_out`` for the window, the right password
        included. Each refusal is logged as ``"Failed SMPP bind"``.
        """
        system_id = _printable(system_id)
        key = SMPP_THROTTLE_PREFIX + system_id
        async with self.db.begin() as conn:
            if await throttle.refusal(conn, self.throttle_policy, client_address, key):
                return await self._refuse("locked_out", system_id, client_address)
            row = None
            if len(system_id) <= MAX_SYSTEM_ID:
                query = select(accounts).where(accounts.c.system_id == system_id)
                row = (await conn.execute(query)).first()
        password_hash = row.smpp_password_hash if row is not None else None
        account = account_from_row(row) if row is not None else None
        if account is not None and not account.allows_address(client_address):
            return await self._refuse("network_not_allowed", system_id, client_address)
        matches = await self.password_work.verify(password_hash, password)
        if account is None or not account.smpp_enabled:
            return await self._refuse("unknown_system_id", system_id, client_address, count=True)
        if not matches:
            return await self._refuse("wrong_password", system_id, client_address, count=True)
        if account.revoked:
            return await self._refuse("revoked", system_id, client_address)
        async with self.db.begin() as conn:
            await throttle.forget_pair(conn, client_address, key)
        return account

    async def _refuse(
        self,
        reason: BindReason,
        system_id: str,
        client_address: str,
        *,
        count: bool = False,
    ) -> Account:
        log.warning(
            "Failed SMPP bind", system_id=system_id, client_address=client_address, reason=reason
        )
        if count:
            async with self.db.begin() as writer:
                await throttle.record_failure(
                    writer,
                    self.throttle_policy,
                    client_address,
                    SMPP_THROTTLE_PREFIX + system_id,
                    "smpp",
                )
        raise BindRefused(reason)

    async def admit(self, account: Account | None, count: int) -> Admission:
        """Admit ``count`` messages of ``account`` (None: a user or the CLI, never limited):
        :class:`~webui.services.errors.Throttled` over its rate,
        :class:`~webui.services.errors.QuotaExceeded` over a quota; nothing is taken then."""
        admission = Admission(self, account, count)
        if account is None or account.unlimited or count <= 0:
            return admission
        if account.tps is not None:
            wait = await self.buckets.take(account.id, account.tps, count)
            if wait > 0:
                raise Throttled(wait)
            admission.tokens = True
        if account.limits.any:
            try:
                async with self.db.begin() as conn:
                    admission.taken = await quotas.take(
                        conn, account.id, account.limits, count, utc_now()
                    )
            except Exception:
                await admission.give_back()
                raise
        return admission

    async def usage(self, account_id: int) -> Usage:
        """Messages counted this UTC day and month (only while the account has a quota)."""
        async with self.db.read() as conn:
            return await quotas.usage(conn, account_id, utc_now())

    async def close(self) -> None:
        await self.buckets.close()


def route_to_allowed_modems(
    account: Account | None, messages: Sequence[PreparedMessage]
) -> Sequence[PreparedMessage]:
    """``messages`` as an account with allowed modems may send them: one that asks for
    another modem raises :class:`~webui.services.errors.Invalid` ``modem_not_allowed``; one
    that names no modem is given one of the allowed modems, in turn (gatewayd sends a message
    only by the modem it names). Without allowed modems, ``messages`` unchanged."""
    if account is None or not account.allowed_modems:
        return messages
    allowed = account.allowed_modems
    routed = []
    turn = secrets.randbelow(len(allowed))
    for message in messages:
        modem = message.request.modem
        if modem is None:
            modem = allowed[turn % len(allowed)]
            turn += 1
            message = replace(message, request=replace(message.request, modem=modem))
        elif modem not in allowed:
            raise Invalid(
                "modem_not_allowed",
                f"this account may send through {', '.join(allowed)} only, not {modem!r}",
                "modem",
            )
        routed.append(message)
    return routed
