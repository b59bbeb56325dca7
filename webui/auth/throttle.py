"""Failed sign-ins and password checks, counted in the database so that every web process (and
every restart) sees the same figures.

Policy (sliding window of ``window``, 15 minutes by default):

- one client address with ``pair_limit`` (5) failures for one user name is refused for that
  name until its oldest failure leaves the window — the right password included;
- one client address with ``address_limit`` (20) failures, whatever the names, is refused for
  every name the same way.

A name is counted as typed (in lower case) whether or not such a user exists, so unknown and
real names answer alike (no user enumeration), and nothing here locks an account itself: an
attacker's failures block the attacker's address, never the real user signing in from
another one. Wrong passwords at sign-in, wrong second-factor codes, wrong current passwords
when changing a password, wrong keys on the Kannel-compatible endpoint, failed SMPP binds
(counted under ``smpp:<system_id>``) and failed SMTP AUTH of the email-to-SMS server (under
``smtp:<user name>``) all count. A success
forgets that address's failures for that name only (signing in to one's own account does not
buy more guesses at another's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import auth_failures, utc_now

FailureKind = Literal["password", "code", "password_change", "api_key", "smpp", "smtp"]
Refusal = Literal["address", "pair"]
MAX_KEY = 64


@dataclass(frozen=True)
class ThrottlePolicy:
    pair_limit: int = 5
    address_limit: int = 20
    window: timedelta = timedelta(minutes=15)


def username_key(typed: str) -> str:
    """How a typed name is counted: trimmed, lower case, at most 64 characters, a NUL (which
    no database text holds) shown as U+FFFD."""
    return typed.strip().lower()[:MAX_KEY].replace("\x00", "\ufffd")


def _address(address: str) -> str:
    return address[:MAX_KEY]


async def refusal(
    conn: AsyncConnection, policy: ThrottlePolicy, address: str, username: str
) -> Refusal | None:
    """Why ``address`` may not try ``username`` now, or None when it may."""
    since = utc_now() - policy.window
    same_name = case((auth_failures.c.username_key == username_key(username), 1), else_=0)
    row = (
        await conn.execute(
            select(func.count(), func.coalesce(func.sum(same_name), 0)).where(
                auth_failures.c.client_address == _address(address),
                auth_failures.c.at > since,
            )
        )
    ).one()
    if int(row[0]) >= policy.address_limit:
        return "address"
    if int(row[1]) >= policy.pair_limit:
        return "pair"
    return None


async def record_failure(
    conn: AsyncConnection, policy: ThrottlePolicy, address: str, username: str, kind: FailureKind
) -> None:
    now = utc_now()
    await conn.execute(
        insert(auth_failures).values(
            at=now,
            client_address=_address(address),
            username_key=username_key(username),
            kind=kind,
        )
    )
    await conn.execute(delete(auth_failures).where(auth_failures.c.at < now - policy.window))


async def forget_pair(conn: AsyncConnection, address: str, username: str) -> None:
    """After a success: this address's failures for this name no longer count."""
    await conn.execute(
        delete(auth_failures).where(
            auth_failures.c.client_address == _address(address),
            auth_failures.c.username_key == username_key(username),
        )
    )


async def forget_user(conn: AsyncConnection, username: str) -> None:
    """``unlock``: every address's failures for this name are forgotten."""
    await conn.execute(
        delete(auth_failures).where(auth_failures.c.username_key == username_key(username))
    )
