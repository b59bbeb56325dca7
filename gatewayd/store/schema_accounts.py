"""Client accounts: who sends through the front doors (API keys, SMPP binds, later SMTP), with
what limits, and how much of each quota period they used.

Shares :data:`gatewayd.store.schema.metadata`; importing :mod:`gatewayd.store` loads it.
``api_keys.account_id`` points here; ``messages.account_id`` names the account a message was
sent by but has neither a foreign key nor an index (the batch path writes 20,000 rows a second
and every per-row cost shows; a deleted account leaves its messages' number behind).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from gatewayd.store.schema import metadata, one_of, stamped
from gatewayd.store.types import RowId, UtcDateTime

DEFAULT_ACCOUNT = "default"
"""The account API keys belong to unless another is named (migration 0010 put every key
that existed before accounts in it)."""

MAX_SYSTEM_ID = 15
"""SMPP 3.4 ``system_id``: a C-Octet String of at most 16 octets with its NUL."""


class UsagePeriod(StrEnum):
    DAY = "day"
    MONTH = "month"


EMPTY_LIST = text("'[]'")

accounts = Table(
    "accounts",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column(
        "name_key",
        String(64),
        nullable=False,
        comment="the name in lower case: names are unique whatever their case",
    ),
    Column("system_id", String(MAX_SYSTEM_ID), comment="SMPP system_id; NULL: no SMPP access"),
    Column("smpp_password_hash", Text, comment="argon2id of the SMPP password"),
    Column("tps", Float, comment="messages per second at most; NULL: unlimited"),
    Column("daily_quota", Integer, comment="messages per UTC day; NULL: unlimited"),
    Column("monthly_quota", Integer, comment="messages per UTC month; NULL: unlimited"),
    Column(
        "allowed_networks",
        JSON,
        nullable=False,
        server_default=EMPTY_LIST,
        comment="CIDR strings clients may connect from; empty: any",
    ),
    Column(
        "allowed_modems",
        JSON,
        nullable=False,
        server_default=EMPTY_LIST,
        comment="names of the modems its messages may leave by; empty: any",
    ),
    Column(
        "incoming_modems",
        JSON,
        nullable=False,
        server_default=EMPTY_LIST,
        comment="modems whose incoming SMS go to its SMPP receivers; empty: none",
    ),
    Column(
        "incoming_as_parts",
        Boolean,
        nullable=False,
        server_default=false(),
        comment="deliver incoming long SMS as parts with UDH instead of reassembled",
    ),
    Column("webhook_url", Text),
    Column("webhook_secret", Text, comment="HMAC-SHA256 key for signing webhook bodies"),
    stamped("created_at"),
    Column("created_by", String(100), nullable=False, comment="user:<name>, cli, system"),
    Column("revoked_at", UtcDateTime()),
    CheckConstraint("tps IS NULL OR tps > 0", name="tps"),
    CheckConstraint("daily_quota IS NULL OR daily_quota >= 0", name="daily_quota"),
    CheckConstraint("monthly_quota IS NULL OR monthly_quota >= 0", name="monthly_quota"),
    UniqueConstraint("name_key"),
    UniqueConstraint("system_id"),
    sqlite_autoincrement=True,
)

account_usage = Table(
    "account_usage",
    metadata,
    Column(
        "account_id",
        RowId,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("period", String(8), primary_key=True, comment="day or month"),
    Column("starts", Date, primary_key=True, comment="first UTC day of the period"),
    Column("used", BigInteger, nullable=False, server_default="0", comment="messages, not parts"),
    one_of("period", UsagePeriod, "period"),
)

__all__ = ["DEFAULT_ACCOUNT", "MAX_SYSTEM_ID", "UsagePeriod", "account_usage", "accounts"]
