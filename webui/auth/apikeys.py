"""API keys: random secrets shown once, stored only as SHA-256 hashes, role-scoped, revocable.

A key looks like ``smsgw_<43 URL-safe characters>``; its first :data:`PREFIX_LENGTH` characters
are kept in clear so lists can tell keys apart. Each key also gets a webhook signing secret,
and belongs to a client account (by default the account ``default``, made when missing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import DEFAULT_ACCOUNT, Role, accounts, api_keys, utc_now
from gatewayd.store.upsert import insert_ignoring_duplicates
from webui.auth.identity import Identity

KEY_MARKER = "smsgw_"
PREFIX_LENGTH = 12
API_KEY_ROLES = (Role.OPERATOR, Role.VIEWER)
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per key (no write on every request)."""


class ApiKeyError(ValueError):
    """A key cannot be created or changed as asked; ``str()`` is one line."""


@dataclass(frozen=True)
class NewApiKey:
    id: int
    name: str
    role: Role
    key: str
    """The secret itself: shown once, never stored."""
    prefix: str
    webhook_secret: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_MARKER + secrets.token_urlsafe(32)


def check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100 or any(ch.isspace() and ch != " " for ch in name):
        raise ApiKeyError("the key name needs 1 to 100 characters on one line")
    return name


async def create_api_key(
    conn: AsyncConnection,
    name: str,
    role: Role | str,
    *,
    created_by: int | None = None,
    webhook_url: str | None = None,
    account_id: int | None = None,
) -> NewApiKey:
    """A new key of ``account_id`` (None: the default account)."""
    name = check_name(name)
    try:
        chosen = Role(role)
    except ValueError:
        raise ApiKeyError(f"role must be operator or viewer, got {role!r}") from None
    if chosen not in API_KEY_ROLES:
        raise ApiKeyError("API keys may be operator or viewer; admin work needs a user login")
    key = generate_key()
    webhook_secret = secrets.token_urlsafe(32)
    result = await conn.execute(
        insert(api_keys)
        .values(
            name=name,
            key_prefix=key[:PREFIX_LENGTH],
            key_hash=hash_key(key),
            role=chosen.value,
            created_by=created_by,
            created_at=utc_now(),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            account_id=account_id if account_id is not None else await default_account_id(conn),
        )
        .returning(api_keys.c.id)
    )
    return NewApiKey(
        id=result.scalar_one(),
        name=name,
        role=chosen,
        key=key,
        prefix=key[:PREFIX_LENGTH],
        webhook_secret=webhook_secret,
    )


async def default_account_id(conn: AsyncConnection) -> int:
    """The id of the account ``default``, created (without limits) when it does not exist."""
    query = select(accounts.c.id).where(accounts.c.name_key == DEFAULT_ACCOUNT)
    found = (await conn.execute(query)).scalar_one_or_none()
    if found is None:
        values = {
            "name": DEFAULT_ACCOUNT,
            "name_key": DEFAULT_ACCOUNT,
            "created_at": utc_now(),
            "created_by": "system",
        }
        found = await insert_ignoring_duplicates(conn, accounts, values)
        if found is None:  # made meanwhile by another transaction
            found = (await conn.execute(query)).scalar_one()
    return int(found)


async def identify_key(conn: AsyncConnection, key: str) -> Identity | None:
    """The identity of a live (not revoked) key, or None; refreshes ``last_used_at``."""
    if not key.startswith(KEY_MARKER) or len(key) > 200:
        return None
    digest = hash_key(key)
    row = (
        await conn.execute(
            select(
                api_keys.c.id,
                api_keys.c.name,
                api_keys.c.role,
                api_keys.c.key_hash,
                api_keys.c.revoked_at,
                api_keys.c.last_used_at,
                api_keys.c.account_id,
            ).where(api_keys.c.key_hash == digest)
        )
    ).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
        return None
    now = utc_now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        await conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=now))
    return Identity(
        kind="api_key", id=row.id, name=row.name, role=Role(row.role), account_id=row.account_id
    )


async def key_alive(conn: AsyncConnection, key_id: int) -> bool:
    """Whether a key still exists and neither it nor its account is revoked."""
    revoked = await conn.execute(
        select(api_keys.c.revoked_at, accounts.c.revoked_at.label("account_revoked_at"))
        .select_from(api_keys.join(accounts, api_keys.c.account_id == accounts.c.id))
        .where(api_keys.c.id == key_id)
    )
    row = revoked.first()
    return row is not None and row.revoked_at is None and row.account_revoked_at is None


async def revoke_api_key(conn: AsyncConnection, key_id: int) -> bool:
    """Revoke a key; False when there is no such live key."""
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=utc_now())
        .returning(api_keys.c.id)
    )
    return result.first() is not None


async def find_key_id(conn: AsyncConnection, name_or_id: str) -> int | None:
    """A live key's id given its id, name or prefix; None when nothing (or several) match."""
    query = select(api_keys.c.id).where(api_keys.c.revoked_at.is_(None))
    if name_or_id.isdigit():
        rows = (await conn.execute(query.where(api_keys.c.id == int(name_or_id)))).all()
    else:
        rows = (await conn.execute(query.where(api_keys.c.name == name_or_id))).all()
        if not rows:
            rows = (await conn.execute(query.where(api_keys.c.key_prefix == name_or_id))).all()
    return int(rows[0][0]) if len(rows) == 1 else None


async def set_webhook(
    conn: AsyncConnection, key_id: int, url: str | None, *, new_secret: bool = False
) -> str | None:
    """Set (or clear) a key's webhook URL; returns the new secret when one was made."""
    values: dict[str, Any] = {"webhook_url": url}
    secret = secrets.token_urlsafe(32) if new_secret else None
    if secret is not None:
        values["webhook_secret"] = secret
    await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(**values))
    return secret


def key_json(row: Any) -> dict[str, Any]:
    """A key as lists show it: never the secret or its hash."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.key_prefix,
        "role": row.role,
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "revoked_at": iso(row.revoked_at),
        "webhook_url": row.webhook_url,
        "account_id": row.account_id,
    }


async def list_api_keys(conn: AsyncConnection, *, include_revoked: bool = True) -> list[Any]:
    query = select(api_keys).order_by(api_keys.c.id)
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    return list((await conn.execute(query)).all())
