"""A signed-in user checking or changing their own password (``/account``, the two-factor
page and ``POST /api/v1/me/password``): one path for all, throttled and audited like a sign-in.

The current password is checked off the event loop; a wrong one counts as a failure of this
address for this user name (:mod:`webui.auth.throttle`) and is audited
(``user.password.failed``), so the form cannot be used to guess the password of a session left
open. A change ends every session of the user — but for the one that made it, when asked —
and is audited (``user.password``); the caller announces the ended sessions
(:func:`webui.revocations.announce_sessions_ended`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import Database, users
from webui.audit import record
from webui.auth import throttle
from webui.auth.identity import Identity
from webui.auth.passwords import PasswordWork, PasswordWorkBusy, WeakPassword, check_policy
from webui.auth.users import set_password

log = structlog.get_logger("webui.auth")

Outcome = Literal["changed", "throttled", "busy", "wrong_password", "weak_password"]


@dataclass(frozen=True)
class PasswordChangeResult:
    outcome: Outcome
    reason: str = ""
    """For ``weak_password``: what the policy says, one line."""


KeepSession = Callable[[AsyncConnection], Awaitable[None]]
"""Run in the transaction that changes the password: keeps the caller's session signed in."""


@dataclass(frozen=True)
class OwnPassword:
    """Checks and changes of a user's own password in one web process."""

    db: Database
    throttle: throttle.ThrottlePolicy
    work: PasswordWork

    async def _refused(self, identity: Identity, address: str, reason: str, action: str) -> None:
        async with self.db.begin() as conn:
            if reason == "wrong_password":
                await throttle.record_failure(
                    conn, self.throttle, address, identity.name, "password_change"
                )
            await record(
                conn,
                identity.actor,
                f"{action}.failed",
                identity.name,
                {"reason": reason},
                address,
            )
        log.warning(
            "Password check refused",
            username=identity.name,
            client_address=address,
            reason=reason,
            action=action,
        )

    async def confirm(
        self, identity: Identity, address: str, password: str, action: str = "user.password"
    ) -> Outcome | None:
        """Check a signed-in user's password before a sensitive change: None when it matches,
        else why not (a wrong one counts for the throttle and is audited as
        ``<action>.failed``)."""
        async with self.db.read() as conn:
            refused = await throttle.refusal(conn, self.throttle, address, identity.name)
            password_hash = (
                await conn.execute(select(users.c.password_hash).where(users.c.id == identity.id))
            ).scalar_one()
        if refused is not None:
            await self._refused(identity, address, "throttled", action)
            return "throttled"
        try:
            matches = await self.work.verify(password_hash, password)
        except PasswordWorkBusy:
            return "busy"
        if not matches:
            await self._refused(identity, address, "wrong_password", action)
            return "wrong_password"
        return None

    async def change(
        self,
        identity: Identity,
        address: str,
        current: str,
        new: str,
        *,
        keep: KeepSession | None = None,
    ) -> PasswordChangeResult:
        """Check ``current``, then set ``new``; ``keep``: the session that stays signed in."""
        refused = await self.confirm(identity, address, current)
        if refused is not None:
            return PasswordChangeResult(refused)
        try:
            check_policy(new)
        except WeakPassword as exc:
            return PasswordChangeResult("weak_password", str(exc))
        try:
            async with self.db.begin() as conn:
                await set_password(conn, identity.id, new, work=self.work)
                if keep is not None:
                    await keep(conn)
                await throttle.forget_pair(conn, address, identity.name)
                await record(
                    conn,
                    identity.actor,
                    "user.password",
                    identity.name,
                    {"forced": identity.must_change_password},
                    address,
                )
        except PasswordWorkBusy:
            return PasswordChangeResult("busy")
        log.info("Password changed", username=identity.name, client_address=address)
        return PasswordChangeResult("changed")
