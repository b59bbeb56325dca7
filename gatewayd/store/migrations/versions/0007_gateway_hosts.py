"""Which gatewayd hosts run, with which modems: a host with no enabled modem runs idle, and the
web's health and modems page say so.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_hosts",
        sa.Column(
            "host", sa.String(length=64), nullable=False, comment="gatewayd's [gateway] host name"
        ),
        sa.Column(
            "state",
            sa.String(length=16),
            nullable=False,
            comment="running (has modems), idle (no enabled modem: sends nothing), stopped",
        ),
        sa.Column("modems", sa.JSON(), nullable=False, comment="names of the modems it runs"),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
            comment="refreshed by its housekeeping every few seconds",
        ),
        sa.CheckConstraint(
            "state IN ('running', 'idle', 'stopped')", name=op.f("ck_gateway_hosts_state")
        ),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_gateway_hosts")),
    )


def downgrade() -> None:
    op.drop_table("gateway_hosts")
