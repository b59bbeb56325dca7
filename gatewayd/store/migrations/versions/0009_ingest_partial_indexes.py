"""Two indexes leave out the rows a new message never needs in them, so queueing writes two
index entries fewer per message: parts enter ``(modem_imsi, mr, submitted_at)`` once a modem
took them (reports only look parts up by the SIM that sent them), messages enter
``(claimed_by, status)`` once a host claimed them (only claims by a named host are looked up).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTS = "ix_message_parts_modem_imsi_mr_submitted_at"
CLAIMS = "ix_messages_claimed_by_status"
SENT_BY_A_SIM = sa.text("modem_imsi IS NOT NULL")
CLAIMED = sa.text("claimed_by IS NOT NULL")


def upgrade() -> None:
    op.drop_index(PARTS, table_name="message_parts")
    op.create_index(
        PARTS,
        "message_parts",
        ["modem_imsi", "mr", "submitted_at"],
        postgresql_where=SENT_BY_A_SIM,
        sqlite_where=SENT_BY_A_SIM,
    )
    op.drop_index(CLAIMS, table_name="messages")
    op.create_index(
        CLAIMS,
        "messages",
        ["claimed_by", "status"],
        postgresql_where=CLAIMED,
        sqlite_where=CLAIMED,
    )


def downgrade() -> None:
    op.drop_index(CLAIMS, table_name="messages")
    op.create_index(CLAIMS, "messages", ["claimed_by", "status"])
    op.drop_index(PARTS, table_name="message_parts")
    op.create_index(PARTS, "message_parts", ["modem_imsi", "mr", "submitted_at"])
