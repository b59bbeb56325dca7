"""A signed-in user changing their own password (``/account`` and ``POST /api/v1/me/password``):
one path for both, throttled and audited like a sign-in.

The current password is checked off the event loop; a wrong one counts as a failure of this
address for this user name (:mod:`webui.auth.throttle`) and is audited
(``user.password.failed``), so the form cannot be used to guess the password of a session left
open. A change ends every session of the user — but for the one that made it, when asked —
and is audited (``user.password``); the caller announces the ended sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import structlog
from aiohttp import web
from aiohttp_session import Session
from sqlalchemy import select

from gatewayd.store import users
from webui.audit import record
from webui.auth import throttle
from webui.auth.identity import Identity
from webui.auth.passwords import PasswordWorkBusy, WeakPassword, check_policy
from webui.auth.sessions import keep_session_after_password_change
from webui.auth.users import set_password
from webui.keys import BUS, CLIENT_ADDRESS, DB, OPTIONS, PASSWORD_WORK, THROTTLE
from webui.revocations import announce_sessions_ended

log = structlog.get_logger("webui.auth")

Outcome = Literal["changed", "throttled", "busy", "wrong_password", "weak_password"]


@dataclass(frozen=True)
class PasswordChangeResult:
    outcome: Outcome
    reason: str = ""
    """For ``weak_password``: what the policy says, one line."""


async def _refused(request: web.Request, identity: Identity, reason: str, action: str) -> None:
    address = request[CLIENT_ADDRESS]
    async with request.app[DB].begin() as conn:
        if reason == "wrong_password":
            await throttle.record_failure(
                conn, request.app[THROTTLE], address, identity.name, "password_change"
            )
        await record(
            conn, identity.actor, f"{action}.failed", identity.name, {"reason": reason}, address
        )
    log.warning(
        "Password check refused",
        username=identity.name,
        client_address=address,
        reason=reason,
        action=action,
    )


async def confirm_password(
    request: web.Request, identity: Identity, password: str, action: str = "user.password"
) -> Outcome | None:
    """Check a signed-in user's password before a sensitive change: None when it matches,
    else why not (a wrong one counts for the throttle and is audited as ``<action>.failed``)."""
    app = request.app
    async with app[DB].read() as conn:
        refused = await throttle.refusal(
            conn, app[THROTTLE], request[CLIENT_ADDRESS], identity.name
        )
        password_hash = (
            await conn.execute(select(users.c.password_hash).where(users.c.id == identity.id))
        ).scalar_one()
    if refused is not None:
        await _refused(request, identity, "throttled", action)
        return "throttled"
    try:
        matches = await app[PASSWORD_WORK].verify(password_hash, password)
    except PasswordWorkBusy:
        return "busy"
    if not matches:
        await _refused(request, identity, "wrong_password", action)
        return "wrong_password"
    return None


async def change_own_password(
    request: web.Request,
    identity: Identity,
    current: str,
    new: str,
    *,
    keep: Session | None = None,
) -> PasswordChangeResult:
    """Check ``current``, then set ``new``; ``keep``: the session that stays signed in."""
    address = request[CLIENT_ADDRESS]
    app = request.app
    refused = await confirm_password(request, identity, current)
    if refused is not None:
        return PasswordChangeResult(refused)
    try:
        check_policy(new)
    except WeakPassword as exc:
        return PasswordChangeResult("weak_password", str(exc))
    try:
        async with app[DB].begin() as conn:
            await set_password(conn, identity.id, new, work=app[PASSWORD_WORK])
            if keep is not None:
                await keep_session_after_password_change(
                    conn, keep, identity.id, app[OPTIONS].session_max_age
                )
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
    await announce_sessions_ended(app[BUS], identity.id)
    log.info("Password changed", username=identity.name, client_address=address)
    return PasswordChangeResult("changed")
