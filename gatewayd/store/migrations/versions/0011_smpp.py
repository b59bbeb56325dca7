"""The SMPP server: ``smpp_submits`` (what a client asked for beside each message it queued),
``smpp_deliveries`` (the ``deliver_sm`` outbox of receipts and incoming SMS), and
``messages.concat_total`` / ``concat_seq`` (a message that is one part of a message its sender
split itself, sent as that one part with the sender's concatenation header).

The two message columns are nullable and unindexed: adding them rewrites nothing on either back
end, and sends that are not such parts never write them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column(
            "concat_total",
            sa.SmallInteger(),
            comment="with concat_seq: this message is one part of a message its sender split "
            "itself (an SMPP client), sent as one SMS with the header (concat_ref, total, seq)",
        ),
    )
    op.add_column(
        "messages", sa.Column("concat_seq", sa.SmallInteger(), comment="1-based; see concat_total")
    )
    op.create_table(
        "smpp_submits",
        sa.Column("message_id", ROW_ID, nullable=False),
        sa.Column(
            "account_id", ROW_ID, nullable=False, comment="accounts.id of the bind that sent it"
        ),
        sa.Column(
            "registered_delivery",
            sa.SmallInteger(),
            server_default="0",
            nullable=False,
            comment="SMPP registered_delivery: bits 0-1 ask for a receipt (1 any, 2 on failure)",
        ),
        sa.Column("source_addr", sa.String(21), server_default="", nullable=False),
        sa.Column("source_addr_ton", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("source_addr_npi", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column(
            "destination_addr", sa.String(21), nullable=False, comment="as the client wrote it"
        ),
        sa.Column("dest_addr_ton", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("dest_addr_npi", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("data_coding", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("esm_class", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("service_type", sa.String(6), server_default="", nullable=False),
        sa.Column(
            "user_message_reference", sa.Integer(), comment="the client's own reference (TLV)"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_smpp_submits_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_smpp_submits")),
    )
    op.create_index(
        op.f("ix_smpp_submits_account_id_message_id"),
        "smpp_submits",
        ["account_id", "message_id"],
    )
    op.create_table(
        "smpp_deliveries",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ROW_ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, comment="receipt or incoming"),
        sa.Column("message_id", ROW_ID, comment="receipt: the message it reports on"),
        sa.Column("incoming_id", ROW_ID, comment="incoming: incoming_messages.id"),
        sa.Column(
            "body",
            sa.LargeBinary(),
            nullable=False,
            comment="the deliver_sm PDU, sequence number 0",
        ),
        sa.Column("status", sa.String(8), server_default="pending", nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="due from then; a send in progress leases it by moving it ahead",
        ),
        sa.Column(
            "last_error", sa.Text(), comment="why the last attempt was not acknowledged, one line"
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), comment="answered with ESME_ROK"),
        sa.CheckConstraint("kind IN ('receipt', 'incoming')", name=op.f("ck_smpp_deliveries_kind")),
        sa.CheckConstraint("status IN ('pending', 'done')", name=op.f("ck_smpp_deliveries_status")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_smpp_deliveries_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_deliveries")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_smpp_deliveries_pending",
        "smpp_deliveries",
        ["account_id", "next_attempt_at", "id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(op.f("ix_smpp_deliveries_delivered_at"), "smpp_deliveries", ["delivered_at"])


def downgrade() -> None:
    op.drop_table("smpp_deliveries")
    op.drop_table("smpp_submits")
    # Both back ends drop a column in place (SQLite since 3.35).
    op.execute("ALTER TABLE messages DROP COLUMN concat_seq")
    op.execute("ALTER TABLE messages DROP COLUMN concat_total")
