"""Indexes for a large store: parts awaiting their report, and messages listed by status.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWAITING = sa.text("status IN ('sent', 'expired')")


def upgrade() -> None:
    op.create_index(
        "ix_message_parts_awaiting_report",
        "message_parts",
        ["modem_imsi", "mr", "submitted_at"],
        postgresql_where=AWAITING,
        sqlite_where=AWAITING,
    )
    op.create_index("ix_messages_status_id", "messages", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_status_id", table_name="messages")
    op.drop_index("ix_message_parts_awaiting_report", table_name="message_parts")
