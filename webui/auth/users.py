"""User accounts: creation, names, passwords, roles, and the password check at sign-in.

User names are 1 to 64 of letters, digits, ``.``, ``_``, ``@`` and ``-`` (no whitespace, no
control character: ``admin\n`` is refused, not trimmed), compared and unique whatever their
case (``Admin`` signs in as ``admin``; a second ``ADMIN`` cannot be created).

Changing a password, a role, or disabling or locking a user ends every session of that user
(:func:`webui.auth.sessions.end_user_sessions`) in the same transaction; the caller announces it
(:func:`webui.revocations.announce_sessions_ended`) once committed so open live streams close.
Failed sign-ins are counted per client address by :mod:`webui.auth.throttle`, never as a lock
on the account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import Database, Role, users, utc_now
from webui.auth.passwords import UNLIMITED, PasswordWork, check_policy, needs_rehash
from webui.auth.sessions import end_user_sessions

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
SESSION_ENDING_CHANGES = ("disabled_at", "locked_until")
"""Columns whose new value (when not None) ends every session of the user, like a new role."""


class UserError(ValueError):
    """A user cannot be created or changed as asked; ``str()`` is one line."""


@dataclass(frozen=True)
class LoginResult:
    outcome: Literal["ok", "wrong_password", "locked", "unknown_user", "disabled"]
    """``locked`` (by an administrator) and ``disabled`` are told only with the right
    password; with a wrong one they are ``wrong_password`` like any other."""
    user: Any = None
    locked_until: datetime | None = None


def check_username(name: str) -> str:
    if not USERNAME.fullmatch(name):
        raise UserError(
            "the user name needs 1 to 64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError(f"role must be admin, operator or viewer, got {role!r}") from None


def username_key(name: str) -> str:
    return name.lower()


async def find_user(conn: AsyncConnection, username: str) -> Any:
    """The user of that name, whatever its case."""
    key = username_key(username)
    return (await conn.execute(select(users).where(users.c.username_key == key))).first()


def _work(work: PasswordWork | None) -> PasswordWork:
    return work if work is not None else UNLIMITED


async def create_user(
    conn: AsyncConnection,
    username: str,
    role: Role | str,
    password: str,
    *,
    must_change_password: bool = False,
    work: PasswordWork | None = None,
) -> int:
    check_username(username)
    chosen = check_role(role)
    check_policy(password)
    existing = await find_user(conn, username)
    if existing is not None:
        raise UserError(f"a user named {existing.username!r} already exists")
    password_hash = await _work(work).hash(password)
    result = await conn.execute(
        insert(users)
        .values(
            username=username,
            username_key=username_key(username),
            role=chosen.value,
            password_hash=password_hash,
            must_change_password=must_change_password,
            created_at=utc_now(),
        )
        .returning(users.c.id)
    )
    return int(result.scalar_one())


async def set_password(
    conn: AsyncConnection,
    user_id: int,
    password: str,
    *,
    must_change: bool = False,
    work: PasswordWork | None = None,
) -> str:
    """Set the password (and lift an administrator's lock); every session of the user ends.
    Returns the new hash."""
    check_policy(password)
    password_hash = await _work(work).hash(password)
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(
            password_hash=password_hash,
            must_change_password=must_change,
            failed_logins=0,
            locked_until=None,
        )
    )
    await end_user_sessions(conn, user_id)
    return password_hash


async def update_user(conn: AsyncConnection, user_id: int, **values: Any) -> bool:
    """Change columns of a user; a new role, disabling or locking (not re-enabling or
    unlocking) ends every session of the user (True when that happened)."""
    if "role" in values:
        values["role"] = check_role(values["role"]).value
    await conn.execute(update(users).where(users.c.id == user_id).values(**values))
    ends = "role" in values or any(values.get(name) is not None for name in SESSION_ENDING_CHANGES)
    if ends:
        await end_user_sessions(conn, user_id)
    return ends


async def list_users(conn: AsyncConnection) -> list[Any]:
    return list((await conn.execute(select(users).order_by(users.c.username))).all())


def is_locked(user: Any, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


async def check_login(
    db: Database, username: str, password: str, *, work: PasswordWork | None = None
) -> LoginResult:
    """Verify a password off the event loop, holding no database connection meanwhile. Every
    outcome costs one argon2 check, so timing tells nothing either. A hash made with older
    parameters is renewed."""
    async with db.read() as conn:
        user = await find_user(conn, username)
    matches = await _work(work).verify(user.password_hash if user else None, password)
    if user is None:
        return LoginResult("unknown_user")
    if not matches:
        return LoginResult("wrong_password", user)
    if user.disabled_at is not None:
        return LoginResult("disabled", user)
    if is_locked(user, utc_now()):
        return LoginResult("locked", user, user.locked_until)
    if needs_rehash(user.password_hash):
        new_hash = await _work(work).hash(password)
        async with db.begin() as conn:
            await conn.execute(
                update(users).where(users.c.id == user.id).values(password_hash=new_hash)
            )
    return LoginResult("ok", user)


async def mark_signed_in(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(last_login_at=utc_now()))
