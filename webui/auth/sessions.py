"""Browser sessions: an encrypted cookie pointing at a server-side session row, rotation at
sign-in, CSRF tokens, and the identity behind a session.

The cookie (``EncryptedCookieStorage``: Fernet, encrypted and authenticated) holds the user's
id, a random session id, the CSRF synchroniser token and, between the password and the second
factor, the pending sign-in. The session itself lives in ``web_sessions`` (keyed by the SHA-256
of the session id), so the server can end it: signing out deletes this session's row; a new
password, a new role, disabling or locking the user deletes every row of that user
(:func:`end_user_sessions`). A cookie whose row is gone is signed out at its next request in
every web process, and a copy of the cookie taken before a sign-out is worth nothing after it.
Signing in throws the old session away and starts a new one (new id, new CSRF token).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp_session import Session, get_session, new_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from sqlalchemy import and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import Role, users, utc_now, web_sessions, web_settings
from webui.auth.clientaddr import is_https
from webui.auth.identity import Identity
from webui.options import IpNetwork, WebOptions, session_key

COOKIE_NAME = "smsgw_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
REQUIRE_ADMIN_TWO_FACTOR = "require_admin_two_factor"
"""The ``web_settings`` row an admin turns on to require two-factor sign-in of admins."""


class GatewaySessionStorage(EncryptedCookieStorage):
    """Encrypted cookie storage whose cookie is ``Secure`` whenever the browser uses HTTPS."""

    def __init__(self, options: WebOptions) -> None:
        super().__init__(
            session_key(options.secret_key),
            cookie_name=COOKIE_NAME,
            max_age=options.session_max_age,
            httponly=True,
            samesite="Lax",
        )
        self._trusted: tuple[IpNetwork, ...] = options.trusted_proxies

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        await super().save_session(request, response, session)
        morsel = response.cookies.get(self.cookie_name)
        if morsel is not None and is_https(request, self._trusted):
            morsel["secure"] = True


def session_row_id(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


async def csrf_token(request: web.Request) -> str:
    """The session's CSRF token, made on first use; forms put it in a hidden ``csrf_token``."""
    session = await get_session(request)
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_matches(session: Session, supplied: str | None) -> bool:
    expected = session.get("csrf")
    if not isinstance(expected, str) or not supplied:
        return False
    return hmac.compare_digest(expected.encode(), supplied.encode())


async def fresh_session(request: web.Request) -> Session:
    """A brand-new cookie session (the old one, if any, is discarded): new CSRF token."""
    old = await get_session(request)
    old.invalidate()
    session = await new_session(request)
    session["csrf"] = secrets.token_urlsafe(32)
    return session


async def _add_row(conn: AsyncConnection, session: Session, user_id: int, max_age: int) -> None:
    sid = secrets.token_urlsafe(24)
    now = utc_now()
    await conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
    await conn.execute(
        insert(web_sessions).values(
            id=session_row_id(sid),
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(seconds=max_age),
        )
    )
    session["sid"] = sid
    session["uid"] = user_id
    session["at"] = int(time.time())
    session.changed()


async def start_session(
    request: web.Request, conn: AsyncConnection, user: Any, max_age: int
) -> Session:
    """A brand-new signed-in session for ``user`` (the old one, if any, is discarded)."""
    session = await fresh_session(request)
    await _add_row(conn, session, user.id, max_age)
    return session


async def end_session(request: web.Request, conn: AsyncConnection) -> None:
    """Sign this browser out: its session row goes, its cookie is cleared."""
    session = await get_session(request)
    sid = session.get("sid")
    if isinstance(sid, str):
        await conn.execute(delete(web_sessions).where(web_sessions.c.id == session_row_id(sid)))
    session.invalidate()


async def end_user_sessions(conn: AsyncConnection, user_id: int) -> None:
    """End every session of a user (new password, new role, disabled, locked)."""
    await conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))


async def keep_session_after_password_change(
    conn: AsyncConnection, session: Session, user_id: int, max_age: int
) -> None:
    """The user changed their own password in this session: after every session of the user
    ended, this one goes on under a new session id."""
    await _add_row(conn, session, user_id, max_age)


def _identity_query(user_id: int, row_id: str) -> Any:
    now = utc_now()
    required = (
        select(web_settings.c.value)
        .where(web_settings.c.name == REQUIRE_ADMIN_TWO_FACTOR)
        .scalar_subquery()
    )
    return (
        select(
            users.c.id,
            users.c.username,
            users.c.role,
            users.c.must_change_password,
            users.c.totp_enabled_at,
            users.c.locked_until,
            required.label("require_admin_two_factor"),
        )
        .select_from(
            users.join(
                web_sessions,
                and_(web_sessions.c.user_id == users.c.id, web_sessions.c.id == row_id),
            )
        )
        .where(
            users.c.id == user_id,
            users.c.disabled_at.is_(None),
            web_sessions.c.expires_at > now,
        )
    )


async def session_identity(conn: AsyncConnection, session: Session) -> Identity | None:
    """The signed-in user of ``session``, or None (no login, session ended or expired, user
    gone, disabled or locked)."""
    user_id = session.get("uid")
    sid = session.get("sid")
    if not isinstance(user_id, int) or not isinstance(sid, str):
        return None
    row_id = session_row_id(sid)
    row = (await conn.execute(_identity_query(user_id, row_id))).first()
    if row is None or (row.locked_until is not None and row.locked_until > utc_now()):
        return None
    role = Role(row.role)
    return Identity(
        kind="user",
        id=row.id,
        name=row.username,
        role=role,
        csrf_token=session.get("csrf"),
        must_change_password=bool(row.must_change_password),
        must_enrol_two_factor=(
            role == Role.ADMIN
            and row.require_admin_two_factor is True
            and row.totp_enabled_at is None
        ),
        session_id=row_id,
    )


async def session_alive(conn: AsyncConnection, identity: Identity) -> bool:
    """Whether a user identity's session still holds (for live streams that outlast the
    request that checked it)."""
    if identity.session_id is None:
        return False
    row = (await conn.execute(_identity_query(identity.id, identity.session_id))).first()
    return row is not None and not (row.locked_until is not None and row.locked_until > utc_now())
