"""PostgreSQL: vacuum the queue tables after a fixed number of changes, not a fifth of them.

Every message changes status four or five times, and each change leaves a dead entry in the
status indexes; the claims and report look-ups step over those entries until a vacuum removes
them. With PostgreSQL's default (a vacuum once 20 % of a table's rows are dead) the pauses grow
with the table: in a 30-minute soak the claims slowed the whole machine more every minute.
A threshold of its own keeps them as short on a million rows as on a thousand.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_TABLES = ("messages", "message_parts")
SETTINGS = (
    "autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 5000, "
    "autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 5000"
)
RESET = (
    "autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
    "autovacuum_analyze_scale_factor, autovacuum_analyze_threshold"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in QUEUE_TABLES:
        op.execute(f"ALTER TABLE {table} SET ({SETTINGS})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in QUEUE_TABLES:
        op.execute(f"ALTER TABLE {table} RESET ({RESET})")
