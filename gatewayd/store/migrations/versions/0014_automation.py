"""Automation: ``outgoing_mail``, the durable outbox of mail the gateway sends, and
``suppressions``, the opt-out, block and allow lists.

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.func.now()
PENDING = sa.text("sent_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "outgoing_mail",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False, comment="one line: no CR or LF"),
        sa.Column("body", sa.Text(), nullable=False, comment="plain text"),
        sa.Column(
            "reason",
            sa.String(64),
            nullable=False,
            comment="why it is sent: rule:<id>, alert:<kind>, report:<message id>...",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=NOW,
            nullable=False,
            comment="not before this time; the sender's claim order",
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), comment="NULL: not sent yet"),
        sa.Column("last_error", sa.Text(), comment="one line from the last failed attempt"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_mail")),
    )
    op.create_index(
        "ix_outgoing_mail_pending",
        "outgoing_mail",
        ["next_attempt_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_table(
        "suppressions",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column(
            "number",
            sa.String(32),
            nullable=False,
            comment="E.164 number, or a prefix such as +5511",
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column(
            "prefix",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="true: every number starting with it",
        ),
        sa.Column("source", sa.String(16), nullable=False, comment="sms, api, page, import, rule"),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.CheckConstraint(
            "kind IN ('opt_out', 'block', 'allow')", name=op.f("ck_suppressions_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint(
            "number", "kind", "prefix", name=op.f("uq_suppressions_number_kind_prefix")
        ),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_index("ix_outgoing_mail_pending", table_name="outgoing_mail")
    op.drop_table("outgoing_mail")
