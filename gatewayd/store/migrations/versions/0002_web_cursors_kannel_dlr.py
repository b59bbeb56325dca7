"""Web side: webhook dispatcher cursors and Kannel-style delivery-report requests.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "web_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "position",
            sa.BigInteger(),
            server_default="0",
            nullable=False,
            comment="id of the last source row already turned into deliveries",
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_web_cursors")),
    )
    op.create_table(
        "kannel_dlr",
        sa.Column("message_id", ROW_ID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False, comment="dlr-url with %d, %p... placeholders"),
        sa.Column(
            "mask", sa.Integer(), nullable=False, comment="Kannel dlr-mask bits: 1, 2, 4, 8, 16"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_kannel_dlr_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_kannel_dlr")),
    )


def downgrade() -> None:
    op.drop_table("kannel_dlr")
    op.drop_table("web_cursors")
