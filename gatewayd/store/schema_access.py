"""The access side of the schema: users, their sign-in sessions, failed sign-ins, second
factors, API keys (each of a client account: :mod:`gatewayd.store.schema_accounts`), web
settings, the audit log and webhook deliveries.

Shares :data:`gatewayd.store.schema.metadata`; importing :mod:`gatewayd.store` loads both.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from gatewayd.store.schema import metadata, one_of, stamped
from gatewayd.store.types import RowId, UtcDateTime


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


class WebhookStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    """Gave up after the last retry."""


users = Table(
    "users",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column(
        "username_key",
        String(64),
        nullable=False,
        comment="the user name in lower case: names are unique whatever their case",
    ),
    Column("password_hash", Text, nullable=False, comment="argon2id"),
    Column("role", String(16), nullable=False),
    Column("locale", String(16), nullable=False, server_default="en"),
    stamped("created_at"),
    Column("last_login_at", UtcDateTime()),
    Column("failed_logins", SmallInteger, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime()),
    Column("must_change_password", Boolean, nullable=False, server_default=false()),
    Column("disabled_at", UtcDateTime()),
    Column("totp_secret", Text, comment="TOTP secret, encrypted with the web secret key"),
    Column("totp_enabled_at", UtcDateTime()),
    Column("totp_last_step", BigInteger, comment="time step of the last code accepted"),
    one_of("role", Role, "role"),
    UniqueConstraint("username"),
    UniqueConstraint("username_key"),
    sqlite_autoincrement=True,
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True, comment="SHA-256 of the session id in the cookie"),
    Column("user_id", RowId, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    stamped("created_at"),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index(None, "user_id"),
    Index(None, "expires_at"),
)

auth_failures = Table(
    "auth_failures",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    stamped("at"),
    Column("client_address", String(64), nullable=False),
    Column("username_key", String(64), nullable=False, comment="as typed, in lower case"),
    Column("kind", String(16), nullable=False, comment="password, code, password_change"),
    Index(None, "client_address", "at"),
    Index(None, "username_key", "at"),
    Index(None, "at"),
    sqlite_autoincrement=True,
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("user_id", RowId, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("code_hash", String(64), nullable=False, comment="SHA-256 of the code"),
    stamped("created_at"),
    Column("used_at", UtcDateTime()),
    UniqueConstraint("user_id", "code_hash"),
    sqlite_autoincrement=True,
)

web_settings = Table(
    "web_settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    stamped("updated_at"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("key_prefix", String(16), nullable=False, comment="first characters, shown in lists"),
    Column("key_hash", String(128), nullable=False, comment="hash of the whole key"),
    Column("role", String(16), nullable=False),
    Column("created_by", RowId, ForeignKey("users.id", ondelete="SET NULL")),
    stamped("created_at"),
    Column("last_used_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
    Column("webhook_url", Text),
    Column("webhook_secret", Text, comment="HMAC-SHA256 key for signing webhook bodies"),
    Column(
        "account_id",
        RowId,
        ForeignKey("accounts.id"),
        nullable=False,
        comment="the client account it authenticates as",
    ),
    one_of("role", Role, "role"),
    UniqueConstraint("key_hash"),
    Index(None, "key_prefix"),
    Index(None, "account_id"),
    sqlite_autoincrement=True,
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    stamped("at"),
    Column("actor", String(100), nullable=False, comment="user:<name>, api_key:<id>, system"),
    Column("action", String(64), nullable=False, comment="e.g. user.create, message.cancel"),
    Column("target", String(200)),
    Column("detail", JSON),
    Column("client_address", String(64)),
    Index(None, "at"),
    Index(None, "actor", "at"),
    sqlite_autoincrement=True,
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("event", String(32), nullable=False, comment="message.status, message.received"),
    Column("url", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("api_key_id", RowId, ForeignKey("api_keys.id", ondelete="SET NULL")),
    Column("message_id", RowId, ForeignKey("messages.id", ondelete="SET NULL")),
    Column("status", String(16), nullable=False, server_default=WebhookStatus.PENDING.value),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime()),
    Column("last_error", Text),
    Column("response_status", SmallInteger),
    stamped("created_at"),
    Column("delivered_at", UtcDateTime()),
    one_of("status", WebhookStatus, "status"),
    Index(None, "status", "next_attempt_at"),
    sqlite_autoincrement=True,
)
