"""Host leases: each gatewayd host's row in ``gateway_hosts`` becomes its lease (an epoch, an
expiry by the database's clock, which installation holds it), a host whose lease expired can
be ``taken_over``, and every takeover is kept in ``host_takeovers``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATE_CHECK = "ck_gateway_hosts_state"
STATES_BEFORE = "state IN ('running', 'idle', 'stopped')"
STATES = "state IN ('running', 'idle', 'stopped', 'taken_over')"


def upgrade() -> None:
    op.create_table(
        "host_takeovers",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column(
            "host", sa.String(length=64), nullable=False, comment="the host whose lease expired"
        ),
        sa.Column("epoch", sa.BigInteger(), nullable=False, comment="the epoch its lease had"),
        sa.Column(
            "by_host", sa.String(length=64), nullable=False, comment="the host that took over"
        ),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column(
            "unknown_parts",
            sa.Integer(),
            nullable=False,
            comment="parts it may have sent: unknown",
        ),
        sa.Column(
            "requeued_messages",
            sa.Integer(),
            nullable=False,
            comment="claims given back to the queue",
        ),
        sa.Column(
            "failed_over",
            sa.Integer(),
            nullable=False,
            comment="bound messages moved to any modem",
        ),
        sa.Column(
            "waiting", sa.Integer(), nullable=False, comment="bound messages left for the host"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_takeovers")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_host_takeovers_host_at"), "host_takeovers", ["host", "at"])
    with op.batch_alter_table("gateway_hosts") as batch:
        batch.add_column(
            sa.Column(
                "epoch",
                sa.BigInteger(),
                server_default="0",
                nullable=False,
                comment="raised each time the host takes its lease anew; its writes name it",
            )
        )
        batch.add_column(
            sa.Column(
                "expires_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="the lease ends then (database clock)",
            )
        )
        batch.add_column(
            sa.Column(
                "instance",
                sa.String(length=200),
                nullable=True,
                comment="the machine and data folder holding the lease",
            )
        )
        batch.add_column(
            sa.Column(
                "taken_over_by",
                sa.String(length=64),
                nullable=True,
                comment="the host that took over its work last",
            )
        )
        batch.add_column(sa.Column("taken_over_at", sa.DateTime(timezone=True), nullable=True))
        batch.alter_column(
            "state",
            existing_type=sa.String(length=16),
            existing_nullable=False,
            comment="running, idle, stopped, taken_over",
            existing_comment=(
                "running (has modems), idle (no enabled modem: sends nothing), stopped"
            ),
        )
        batch.alter_column(
            "seen_at",
            existing_type=sa.DateTime(timezone=True),
            existing_nullable=False,
            existing_server_default=sa.func.now(),
            comment="the lease's last renewal (database clock)",
            existing_comment="refreshed by its housekeeping every few seconds",
        )
        batch.drop_constraint(op.f(STATE_CHECK), type_="check")
        batch.create_check_constraint("state", sa.text(STATES))


def downgrade() -> None:
    op.execute(sa.text("UPDATE gateway_hosts SET state = 'stopped' WHERE state = 'taken_over'"))
    with op.batch_alter_table("gateway_hosts") as batch:
        batch.drop_constraint(op.f(STATE_CHECK), type_="check")
        batch.create_check_constraint("state", sa.text(STATES_BEFORE))
        batch.alter_column(
            "seen_at",
            existing_type=sa.DateTime(timezone=True),
            existing_nullable=False,
            existing_server_default=sa.func.now(),
            comment="refreshed by its housekeeping every few seconds",
            existing_comment="the lease's last renewal (database clock)",
        )
        batch.alter_column(
            "state",
            existing_type=sa.String(length=16),
            existing_nullable=False,
            comment="running (has modems), idle (no enabled modem: sends nothing), stopped",
            existing_comment="running, idle, stopped, taken_over",
        )
        batch.drop_column("taken_over_at")
        batch.drop_column("taken_over_by")
        batch.drop_column("instance")
        batch.drop_column("expires_at")
        batch.drop_column("epoch")
    op.drop_index(op.f("ix_host_takeovers_host_at"), table_name="host_takeovers")
    op.drop_table("host_takeovers")
