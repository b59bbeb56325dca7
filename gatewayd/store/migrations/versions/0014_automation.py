"""Automation: ``outgoing_mail``, the durable outbox of mail the gateway sends, and
``suppressions``, the opt-out, block and allow lists; ``rules`` on incoming SMS with
``rule_replies`` (what they answered, for loop protection) and ``incoming_tags``;
``recurring_sends`` and their history ``recurring_runs``.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.func.now()
PENDING = sa.text("sent_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "outgoing_mail",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False, comment="one line: no CR or LF"),
        sa.Column("body", sa.Text(), nullable=False, comment="plain text"),
        sa.Column(
            "reason",
            sa.String(64),
            nullable=False,
            comment="why it is sent: rule:<id>, alert:<kind>, report:<message id>...",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=NOW,
            nullable=False,
            comment="not before this time; the sender's claim order",
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), comment="NULL: not sent yet"),
        sa.Column("last_error", sa.Text(), comment="one line from the last failed attempt"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_mail")),
    )
    op.create_index(
        "ix_outgoing_mail_pending",
        "outgoing_mail",
        ["next_attempt_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_table(
        "suppressions",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column(
            "number",
            sa.String(32),
            nullable=False,
            comment="E.164 number, or a prefix such as +5511",
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column(
            "prefix",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="true: every number starting with it",
        ),
        sa.Column("source", sa.String(16), nullable=False, comment="sms, api, page, import, rule"),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.CheckConstraint(
            "kind IN ('opt_out', 'block', 'allow')", name=op.f("ck_suppressions_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint(
            "number", "kind", "prefix", name=op.f("uq_suppressions_number_kind_prefix")
        ),
    )
    op.create_table(
        "rules",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column(
            "position", sa.Integer(), nullable=False, comment="evaluation order, lowest first"
        ),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "match", sa.JSON(), nullable=False, comment="keyword, regex, from, modem, time window"
        ),
        sa.Column("actions", sa.JSON(), nullable=False, comment="list of {type, ...}"),
        sa.Column("stop", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("matched", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_matched_at", sa.DateTime(timezone=True)),
        sa.Column(
            "last_error", sa.Text(), comment="one line: the last action that could not be done"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
    )
    op.create_index(op.f("ix_rules_position"), "rules", ["position"])
    op.create_table(
        "rule_replies",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("sender", sa.String(32), nullable=False, comment="who was answered (E.164)"),
        sa.Column("rule_id", ROW_ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_replies")),
    )
    op.create_index(op.f("ix_rule_replies_sender_at"), "rule_replies", ["sender", "at"])
    op.create_table(
        "incoming_tags",
        sa.Column("message_id", ROW_ID, nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["incoming_messages.id"],
            name=op.f("fk_incoming_tags_message_id_incoming_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", "tag", name=op.f("pk_incoming_tags")),
    )
    op.create_table(
        "recurring_sends",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False, comment="numbers as given"),
        sa.Column("group_ids", sa.JSON(), nullable=False, comment="contact group ids"),
        sa.Column(
            "schedule", sa.JSON(), nullable=False, comment="{every, at, weekdays, day, cron}"
        ),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), comment="NULL: paused or no run left"),
        sa.Column("last_run_at", sa.DateTime(timezone=True)),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_sends")),
    )
    op.create_index(op.f("ix_recurring_sends_next_run_at"), "recurring_sends", ["next_run_at"])
    op.create_table(
        "recurring_runs",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("recurring_id", ROW_ID, nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text()),
        sa.ForeignKeyConstraint(
            ["recurring_id"],
            ["recurring_sends.id"],
            name=op.f("fk_recurring_runs_recurring_id_recurring_sends"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_runs")),
        sa.UniqueConstraint(
            "recurring_id",
            "scheduled_for",
            name=op.f("uq_recurring_runs_recurring_id_scheduled_for"),
        ),
    )


def downgrade() -> None:
    op.drop_table("recurring_runs")
    op.drop_index(op.f("ix_recurring_sends_next_run_at"), table_name="recurring_sends")
    op.drop_table("recurring_sends")
    op.drop_table("incoming_tags")
    op.drop_index(op.f("ix_rule_replies_sender_at"), table_name="rule_replies")
    op.drop_table("rule_replies")
    op.drop_index(op.f("ix_rules_position"), table_name="rules")
    op.drop_table("rules")
    op.drop_table("suppressions")
    op.drop_index("ix_outgoing_mail_pending", table_name="outgoing_mail")
    op.drop_table("outgoing_mail")
