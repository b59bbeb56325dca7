"""The inbox remembers what was read: ``incoming_messages.read_at`` (NULL: unread), with a
partial index of the unread ones for the count every page shows. Messages received before this
revision count as read (their operators saw them as the page listed them).

Revision ID: 0013
Revises: 0015
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNREAD = sa.text("read_at IS NULL")
INDEX = "ix_incoming_messages_unread"


def upgrade() -> None:
    op.add_column(
        "incoming_messages",
        sa.Column(
            "read_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when an operator read it; NULL: unread",
        ),
    )
    op.execute("UPDATE incoming_messages SET read_at = stored_at")
    op.create_index(
        INDEX, "incoming_messages", ["id"], postgresql_where=UNREAD, sqlite_where=UNREAD
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="incoming_messages")
    with op.batch_alter_table("incoming_messages") as batch:
        batch.drop_column("read_at")
