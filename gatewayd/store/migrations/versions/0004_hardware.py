"""Hardware care: the SIM balance last read by USSD on each modem.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("modems") as batch:
        batch.add_column(
            sa.Column(
                "balance", sa.Float(), comment="SIM credit from the last balance check (USSD)"
            )
        )
        batch.add_column(
            sa.Column(
                "balance_text", sa.Text(), comment="the operator's answer to the balance check"
            )
        )
        batch.add_column(sa.Column("balance_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("modems") as batch:
        batch.drop_column("balance_at")
        batch.drop_column("balance_text")
        batch.drop_column("balance")
