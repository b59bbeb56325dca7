"""Browser sessions: encrypted cookies, rotation at login, CSRF tokens, session identities.

The session lives in an ``EncryptedCookieStorage`` cookie (Fernet: encrypted and
authenticated, expires after ``session_max_age``). It holds the user's id, a fingerprint of the
password hash (changing the password ends every session), a random session id and the CSRF
synchroniser token. Signing in throws the old session away and starts a new one (new session
id, new CSRF token): a session planted before login is worth nothing after it.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from aiohttp import web
from aiohttp_session import Session, get_session, new_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import Role, users
from webui.auth.clientaddr import is_https
from webui.auth.identity import Identity
from webui.auth.passwords import password_fingerprint
from webui.options import IpNetwork, WebOptions, session_key

COOKIE_NAME = "smsgw_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


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


async def start_session(request: web.Request, user: Any) -> Session:
    """A brand-new session for ``user`` (the old one, if any, is discarded)."""
    old = await get_session(request)
    old.invalidate()
    session = await new_session(request)
    session["uid"] = user.id
    session["pw"] = password_fingerprint(user.password_hash)
    session["sid"] = secrets.token_urlsafe(16)
    session["csrf"] = secrets.token_urlsafe(32)
    session["at"] = int(time.time())
    return session


async def end_session(request: web.Request) -> None:
    session = await get_session(request)
    session.invalidate()


async def session_identity(conn: AsyncConnection, session: Session) -> Identity | None:
    """The signed-in user of ``session``, or None (no login, user gone/disabled, new password)."""
    user_id = session.get("uid")
    if not isinstance(user_id, int):
        return None
    row = (
        await conn.execute(
            select(
                users.c.id,
                users.c.username,
                users.c.role,
                users.c.password_hash,
                users.c.disabled_at,
                users.c.must_change_password,
            ).where(users.c.id == user_id)
        )
    ).first()
    if row is None or row.disabled_at is not None:
        return None
    if session.get("pw") != password_fingerprint(row.password_hash):
        return None
    return Identity(
        kind="user",
        id=row.id,
        name=row.username,
        role=Role(row.role),
        csrf_token=session.get("csrf"),
        must_change_password=bool(row.must_change_password),
    )


def keep_session_after_password_change(session: Session, new_password_hash: str) -> None:
    """The user changed their own password in this session: it stays signed in (with a new
    session id) while every other session of the user ends at its next request."""
    session["pw"] = password_fingerprint(new_password_hash)
    session["sid"] = secrets.token_urlsafe(16)
    session.changed()
