"""Client accounts: the ``accounts`` table (SMPP credentials, throughput limit, quotas, allowed
networks and modems, incoming routing, webhook settings), ``account_usage`` (messages per
account per UTC day and month), ``api_keys.account_id`` and ``messages.account_id``.

Every API key that exists gets the account ``default`` (no limits), so existing clients keep
working unchanged. ``messages.account_id`` has neither a foreign key nor an index: adding it is
instant on PostgreSQL and SQLite alike (no table rewrite) and costs the batch path nothing but
one more value per row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
EMPTY_LIST = sa.text("'[]'")
DEFAULT_ACCOUNT = "default"


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column(
            "name_key",
            sa.String(64),
            nullable=False,
            comment="the name in lower case: names are unique whatever their case",
        ),
        sa.Column("system_id", sa.String(15), comment="SMPP system_id; NULL: no SMPP access"),
        sa.Column("smpp_password_hash", sa.Text(), comment="argon2id of the SMPP password"),
        sa.Column("tps", sa.Float(), comment="messages per second at most; NULL: unlimited"),
        sa.Column("daily_quota", sa.Integer(), comment="messages per UTC day; NULL: unlimited"),
        sa.Column("monthly_quota", sa.Integer(), comment="messages per UTC month; NULL: unlimited"),
        sa.Column(
            "allowed_networks",
            sa.JSON(),
            server_default=EMPTY_LIST,
            nullable=False,
            comment="CIDR strings clients may connect from; empty: any",
        ),
        sa.Column(
            "allowed_modems",
            sa.JSON(),
            server_default=EMPTY_LIST,
            nullable=False,
            comment="names of the modems its messages may leave by; empty: any",
        ),
        sa.Column(
            "incoming_modems",
            sa.JSON(),
            server_default=EMPTY_LIST,
            nullable=False,
            comment="modems whose incoming SMS go to its SMPP receivers; empty: none",
        ),
        sa.Column(
            "incoming_as_parts",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="deliver incoming long SMS as parts with UDH instead of reassembled",
        ),
        sa.Column("webhook_url", sa.Text()),
        sa.Column(
            "webhook_secret", sa.Text(), comment="HMAC-SHA256 key for signing webhook bodies"
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("created_by", sa.String(100), nullable=False, comment="user:<name>, cli, system"),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "daily_quota IS NULL OR daily_quota >= 0", name=op.f("ck_accounts_daily_quota")
        ),
        sa.CheckConstraint(
            "monthly_quota IS NULL OR monthly_quota >= 0", name=op.f("ck_accounts_monthly_quota")
        ),
        sa.CheckConstraint("tps IS NULL OR tps > 0", name=op.f("ck_accounts_tps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("name_key", name=op.f("uq_accounts_name_key")),
        sa.UniqueConstraint("system_id", name=op.f("uq_accounts_system_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "account_usage",
        sa.Column("account_id", ROW_ID, nullable=False),
        sa.Column("period", sa.String(8), nullable=False, comment="day or month"),
        sa.Column("starts", sa.Date(), nullable=False, comment="first UTC day of the period"),
        sa.Column(
            "used",
            sa.BigInteger(),
            server_default="0",
            nullable=False,
            comment="messages, not parts",
        ),
        sa.CheckConstraint("period IN ('day', 'month')", name=op.f("ck_account_usage_period")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_usage_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "period", "starts", name=op.f("pk_account_usage")),
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column(
                "account_id",
                ROW_ID,
                nullable=True,
                comment="the client account it authenticates as",
            )
        )
    default_id = _create_default_account()
    op.execute(sa.text("UPDATE api_keys SET account_id = :id").bindparams(id=default_id))
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("account_id", existing_type=ROW_ID, nullable=False)
        batch.create_index(batch.f("ix_api_keys_account_id"), ["account_id"])
        batch.create_foreign_key(
            batch.f("fk_api_keys_account_id_accounts"), "accounts", ["account_id"], ["id"]
        )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column(
                "account_id",
                ROW_ID,
                nullable=True,
                comment=(
                    "client account that sent it (accounts.id, no foreign key); "
                    "NULL: a user, the CLI"
                ),
            )
        )


def _create_default_account() -> int:
    bind = op.get_bind()
    accounts = sa.table(
        "accounts",
        sa.column("id", ROW_ID),
        sa.column("name", sa.String),
        sa.column("name_key", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("created_by", sa.String),
    )
    now = datetime.now(UTC)
    inserted = bind.execute(
        sa.insert(accounts)
        .values(
            name=DEFAULT_ACCOUNT,
            name_key=DEFAULT_ACCOUNT,
            created_at=now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now,
            created_by="system",
        )
        .returning(accounts.c.id)
    )
    return int(inserted.scalar_one())


def downgrade() -> None:
    # Both back ends drop a column in place (SQLite since 3.35); a batch copy of messages would
    # take as long as the table is big.
    op.execute("ALTER TABLE messages DROP COLUMN account_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint(batch.f("fk_api_keys_account_id_accounts"), type_="foreignkey")
        batch.drop_index(batch.f("ix_api_keys_account_id"))
        batch.drop_column("account_id")
    op.drop_table("account_usage")
    op.drop_table("accounts")
