"""The mail sender's bookkeeping: ``outgoing_mail.failed_at`` (given up after the last attempt).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.add_column(
            sa.Column(
                "failed_at",
                sa.DateTime(timezone=True),
                comment="NULL: still to be sent or sent; else given up after the last attempt",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.drop_column("failed_at")
