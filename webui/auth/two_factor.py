"""Two-factor sign-in: TOTP codes (RFC 6238, pyotp) and single-use recovery codes.

- The TOTP secret is kept encrypted (Fernet, with a key derived from the web secret key): a
  copy of the database alone does not yield it. Changing the secret key therefore disables
  every enrolment in effect (users sign in with a recovery code or an administrator runs
  ``webui reset-2fa``).
- A code is accepted for the current 30-second step and one step either side, and each step
  once only (``totp_last_step``): a code seen over a shoulder cannot be replayed.
- Ten recovery codes of 16 characters (80 bits) are made at enrolment, shown once, and kept
  only as SHA-256 hashes; each works once.
- ``web_settings.require_admin_two_factor``: admins without two-factor sign-in are held at the
  enrolment form after signing in (:mod:`webui.password_gate`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any, Literal

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import recovery_codes, users, utc_now, web_settings
from webui.auth.sessions import REQUIRE_ADMIN_TWO_FACTOR

ISSUER = "SMS Gateway"
STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz023456789"
"""32 symbols (5 bits each), without the look-alikes i, l, o and 1."""
RECOVERY_GROUPS = 4
Factor = Literal["totp", "recovery_code"]


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI authenticator apps read (from the QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_code_data_uri(uri: str) -> str:
    """The URI as a QR code, an SVG ``data:`` URI (allowed by the page's CSP)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"smsgw-totp\0" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret: str, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def unseal(sealed: str | None, secret_key: str) -> str | None:
    if not sealed:
        return None
    try:
        return _fernet(secret_key).decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def matching_step(
    secret: str, code: str, last_step: int | None, now: float | None = None
) -> int | None:
    """The time step ``code`` belongs to (current, previous or next), if not used before."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(4 * RECOVERY_GROUPS))
        codes.append("-".join(raw[i : i + 4] for i in range(0, len(raw), 4)))
    return codes


def recovery_hash(code: str) -> str:
    normalised = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


async def enable(conn: AsyncConnection, user_id: int, sealed_secret: str, step: int) -> list[str]:
    """Turn two-factor sign-in on with a confirmed secret; the new recovery codes (shown once)."""
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(totp_secret=sealed_secret, totp_enabled_at=utc_now(), totp_last_step=step)
    )
    return await replace_recovery_codes(conn, user_id)


async def replace_recovery_codes(conn: AsyncConnection, user_id: int) -> list[str]:
    codes = new_recovery_codes()
    await conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
    now = utc_now()
    await conn.execute(
        insert(recovery_codes),
        [
            {"user_id": user_id, "code_hash": recovery_hash(code), "created_at": now}
            for code in codes
        ],
    )
    return codes


async def disable(conn: AsyncConnection, user_id: int) -> bool:
    """Turn two-factor sign-in off (user's choice or an administrator's reset); False when it
    was not on."""
    result = await conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.totp_enabled_at.is_not(None))
        .values(totp_secret=None, totp_enabled_at=None, totp_last_step=None)
        .returning(users.c.id)
    )
    await conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
    return result.first() is not None


async def check_second_factor(
    conn: AsyncConnection, user: Any, code: str, secret_key: str
) -> Factor | None:
    """Accept a TOTP code or an unused recovery code of ``user`` (spending it); call inside a
    write transaction. None when neither matches."""
    secret = unseal(user.totp_secret, secret_key)
    step = matching_step(secret, code, user.totp_last_step) if secret else None
    if step is not None:
        claimed = await conn.execute(
            update(users)
            .where(
                users.c.id == user.id,
                or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .returning(users.c.id)
        )
        return "totp" if claimed.first() is not None else None
    spent = await conn.execute(
        update(recovery_codes)
        .where(
            recovery_codes.c.user_id == user.id,
            recovery_codes.c.code_hash == recovery_hash(code),
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=utc_now())
        .returning(recovery_codes.c.id)
    )
    return "recovery_code" if spent.first() is not None else None


async def unused_recovery_codes(conn: AsyncConnection, user_id: int) -> int:
    query = (
        select(func.count())
        .select_from(recovery_codes)
        .where(recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None))
    )
    return int((await conn.execute(query)).scalar_one())


async def admins_must_enrol(conn: AsyncConnection) -> bool:
    value = (
        await conn.execute(
            select(web_settings.c.value).where(web_settings.c.name == REQUIRE_ADMIN_TWO_FACTOR)
        )
    ).scalar_one_or_none()
    return value is True


async def set_admins_must_enrol(conn: AsyncConnection, required: bool) -> None:
    await conn.execute(delete(web_settings).where(web_settings.c.name == REQUIRE_ADMIN_TWO_FACTOR))
    await conn.execute(
        insert(web_settings).values(
            name=REQUIRE_ADMIN_TWO_FACTOR, value=required, updated_at=utc_now()
        )
    )
