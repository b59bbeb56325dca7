"""Alerts: ``alert_states`` (one row per alert, changed by compare-and-set on ``version``),
``alert_history`` (every raise, repeat and clear) and ``modems.low_balance`` (the modem's
configured low-credit threshold, written with each balance check so that the web side can
judge the balance without the modem settings).

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.func.now()
TIME = sa.DateTime(timezone=True)
KINDS = "kind IN ('modem_offline', 'message_failed', 'low_credit', 'queue_stuck', 'disk_full')"


def upgrade() -> None:
    op.create_table(
        "alert_states",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column(
            "subject", sa.String(200), nullable=False, comment="modem name, host:path, queue"
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("pending_since", TIME, comment="its condition holds since; NULL: it does not"),
        sa.Column("raised_at", TIME, comment="when it was last raised"),
        sa.Column("cleared_at", TIME, comment="when it was last cleared"),
        sa.Column("notified_at", TIME, comment="last raise or repeat sent by mail or webhook"),
        sa.Column(
            "text", sa.Text(), server_default="", nullable=False, comment="what it says, in English"
        ),
        sa.Column("detail", sa.JSON(), comment="the figures the text is made of"),
        sa.Column(
            "version", sa.Integer(), server_default="0", nullable=False, comment="compare-and-set"
        ),
        sa.Column("updated_at", TIME, server_default=NOW, nullable=False),
        sa.CheckConstraint(KINDS, name=op.f("ck_alert_states_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_states")),
        sa.UniqueConstraint("kind", "subject", name=op.f("uq_alert_states_kind_subject")),
    )
    op.create_table(
        "alert_history",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("event", sa.String(16), nullable=False, comment="raised, repeated, cleared"),
        sa.Column("at", TIME, server_default=NOW, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON()),
        sa.Column(
            "notified", sa.JSON(), nullable=False, comment="channels notified: email, webhook"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_history")),
    )
    op.create_index(op.f("ix_alert_history_at"), "alert_history", ["at"])
    op.add_column(
        "modems",
        sa.Column(
            "low_balance",
            sa.Float(),
            comment="the modem's configured low-credit threshold at the last balance check",
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("modems") as batch:
        batch.drop_column("low_balance")
    op.drop_index(op.f("ix_alert_history_at"), table_name="alert_history")
    op.drop_table("alert_history")
    op.drop_table("alert_states")
