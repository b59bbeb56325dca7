"""User accounts: creation, passwords, roles, and the per-user lockout after wrong passwords."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import Role, users, utc_now
from webui.auth.passwords import check_policy, hash_password, needs_rehash, verify_password

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class UserError(ValueError):
    """A user cannot be created or changed as asked; ``str()`` is one line."""


@dataclass(frozen=True)
class LoginResult:
    outcome: Literal["ok", "wrong_password", "locked", "unknown_user", "disabled"]
    user: Any = None
    locked_until: datetime | None = None


def check_username(name: str) -> str:
    if not USERNAME.match(name):
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


async def find_user(conn: AsyncConnection, username: str) -> Any:
    return (await conn.execute(select(users).where(users.c.username == username))).first()


async def create_user(
    conn: AsyncConnection,
    username: str,
    role: Role | str,
    password: str,
    *,
    must_change_password: bool = False,
) -> int:
    check_username(username)
    chosen = check_role(role)
    check_policy(password)
    if await find_user(conn, username) is not None:
        raise UserError(f"a user named {username!r} already exists")
    result = await conn.execute(
        insert(users)
        .values(
            username=username,
            role=chosen.value,
            password_hash=hash_password(password),
            must_change_password=must_change_password,
            created_at=utc_now(),
        )
        .returning(users.c.id)
    )
    return int(result.scalar_one())


async def set_password(
    conn: AsyncConnection, user_id: int, password: str, *, must_change: bool = False
) -> None:
    check_policy(password)
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(
            password_hash=hash_password(password),
            must_change_password=must_change,
            failed_logins=0,
            locked_until=None,
        )
    )


async def update_user(conn: AsyncConnection, user_id: int, **values: Any) -> None:
    if "role" in values:
        values["role"] = check_role(values["role"]).value
    await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def list_users(conn: AsyncConnection) -> list[Any]:
    return list((await conn.execute(select(users).order_by(users.c.username))).all())


def is_locked(user: Any, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


async def check_login(
    conn: AsyncConnection,
    username: str,
    password: str,
    *,
    lockout_threshold: int,
    lockout: timedelta,
) -> LoginResult:
    """Verify a password and keep the failure count; call inside a write transaction."""
    now = utc_now()
    user = await find_user(conn, username)
    if user is None:
        verify_password(None, password)  # same time as a real check
        return LoginResult("unknown_user")
    if user.disabled_at is not None:
        verify_password(None, password)
        return LoginResult("disabled", user)
    if is_locked(user, now):
        return LoginResult("locked", user, user.locked_until)
    if not verify_password(user.password_hash, password):
        failures = user.failed_logins + 1
        locked_until = now + lockout if failures >= lockout_threshold else None
        await conn.execute(
            update(users)
            .where(users.c.id == user.id)
            .values(
                failed_logins=0 if locked_until else failures,
                locked_until=locked_until,
            )
        )
        if locked_until is not None:
            return LoginResult("locked", user, locked_until)
        return LoginResult("wrong_password", user)
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if needs_rehash(user.password_hash):
        values["password_hash"] = hash_password(password)
    await conn.execute(update(users).where(users.c.id == user.id).values(**values))
    return LoginResult("ok", user)
