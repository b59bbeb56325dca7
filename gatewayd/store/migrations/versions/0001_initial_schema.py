"""Initial schema: messages, parts, events, inbox, modems, users, API keys, audit, webhooks.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column(
            "actor",
            sa.String(length=100),
            nullable=False,
            comment="user:<name>, api_key:<id>, system",
        ),
        sa.Column(
            "action",
            sa.String(length=64),
            nullable=False,
            comment="e.g. user.create, message.cancel",
        ),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_audit_log_actor_at"), "audit_log", ["actor", "at"])
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])

    op.create_table(
        "incoming_fragments",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("modem", sa.String(length=32), nullable=False),
        sa.Column("modem_imsi", sa.String(length=16), server_default="", nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("concat_ref", sa.Integer(), nullable=False),
        sa.Column("total", sa.SmallInteger(), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("scts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("smsc", sa.String(length=32), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
            comment="when this gateway got the part",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming_fragments")),
        sa.UniqueConstraint(
            "modem_imsi",
            "sender",
            "concat_ref",
            "total",
            "seq",
            name=op.f("uq_incoming_fragments_modem_imsi_sender_concat_ref_total_seq"),
        ),
    )
    op.create_index(
        op.f("ix_incoming_fragments_received_at"), "incoming_fragments", ["received_at"]
    )

    op.create_table(
        "incoming_messages",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column(
            "sender",
            sa.String(length=32),
            nullable=False,
            comment="E.164 when international, else as sent",
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("modem", sa.String(length=32), nullable=False),
        sa.Column("modem_imsi", sa.String(length=16), nullable=True),
        sa.Column("smsc", sa.String(length=32), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="the SMSC time stamp (SCTS)",
        ),
        sa.Column(
            "stored_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "concat_ref",
            sa.Integer(),
            nullable=True,
            comment="set when reassembled from several parts",
        ),
        sa.Column("concat_total", sa.SmallInteger(), nullable=True),
        sa.Column(
            "dedupe_key",
            sa.String(length=64),
            nullable=False,
            comment="hash of imsi, sender, scts, ref and text: a message stored once",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_incoming_messages_dedupe_key")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_incoming_messages_received_at"), "incoming_messages", ["received_at"])
    op.create_index(op.f("ix_incoming_messages_sender"), "incoming_messages", ["sender"])

    op.create_table(
        "messages",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column(
            "recipient", sa.String(length=32), nullable=False, comment="E.164, e.g. +5511987654321"
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(length=8), nullable=False, comment="gsm7 or ucs2"),
        sa.Column("segments", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column(
            "priority", sa.Integer(), server_default="0", nullable=False, comment="higher first"
        ),
        sa.Column(
            "send_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="not before this time; NULL: now",
        ),
        sa.Column(
            "modem",
            sa.String(length=32),
            nullable=True,
            comment="the modem the sender asked for; NULL: any",
        ),
        sa.Column(
            "assigned_modem",
            sa.String(length=32),
            nullable=True,
            comment="the modem that took the message",
        ),
        sa.Column(
            "avoid_modem",
            sa.String(length=32),
            nullable=True,
            comment="a modem that failed this message",
        ),
        sa.Column("status_report", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("flash", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("validity_minutes", sa.Integer(), nullable=True),
        sa.Column(
            "concat_ref",
            sa.Integer(),
            nullable=True,
            comment="concatenation reference of multipart sends",
        ),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="retry not before; NULL: now",
        ),
        sa.Column(
            "error", sa.Text(), nullable=True, comment="why the last attempt failed, one line"
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "claimed_by",
            sa.String(length=64),
            nullable=True,
            comment="gatewayd host that claimed the message",
        ),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_by",
            sa.String(length=100),
            server_default="system",
            nullable=False,
            comment="who queued it: user:<name>, api_key:<id>, cli, ...",
        ),
        sa.Column(
            "batch_id",
            ROW_ID,
            nullable=True,
            comment="messages sent together (one bulk request) share it",
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'expired', "
            "'cancelled', 'unknown')",
            name=op.f("ck_messages_status"),
        ),
        sa.CheckConstraint("segments BETWEEN 1 AND 255", name=op.f("ck_messages_segments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "created_by", "idempotency_key", name=op.f("uq_messages_created_by_idempotency_key")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_messages_batch_id"), "messages", ["batch_id"])
    op.create_index(op.f("ix_messages_claimed_by_status"), "messages", ["claimed_by", "status"])
    op.create_index(op.f("ix_messages_recipient_id"), "messages", ["recipient", "id"])
    op.create_index(
        op.f("ix_messages_status_priority_id"), "messages", ["status", "priority", "id"]
    )

    op.create_table(
        "modems",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column(
            "host", sa.String(length=64), nullable=False, comment="gatewayd host that owns it"
        ),
        sa.Column("device", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=24), server_default="offline", nullable=False),
        sa.Column("imei", sa.String(length=20), nullable=True),
        sa.Column("imsi", sa.String(length=16), nullable=True),
        sa.Column("iccid", sa.String(length=24), nullable=True),
        sa.Column("manufacturer", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("revision", sa.Text(), nullable=True),
        sa.Column("operator", sa.Text(), nullable=True),
        sa.Column("signal_dbm", sa.SmallInteger(), nullable=True),
        sa.Column("registration", sa.String(length=24), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_today", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "sent_today_date",
            sa.String(length=10),
            nullable=True,
            comment="UTC date (YYYY-MM-DD) sent_today counts",
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_modems")),
    )
    op.create_table(
        "users",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False, comment="argon2id"),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("locale", sa.String(length=16), server_default="en", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_logins", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'operator', 'viewer')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "api_keys",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "key_prefix",
            sa.String(length=16),
            nullable=False,
            comment="first characters, shown in lists",
        ),
        sa.Column(
            "key_hash", sa.String(length=128), nullable=False, comment="hash of the whole key"
        ),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_by", ROW_ID, nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column(
            "webhook_secret",
            sa.Text(),
            nullable=True,
            comment="HMAC-SHA256 key for signing webhook bodies",
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'operator', 'viewer')", name=op.f("ck_api_keys_role")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_api_keys_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_api_keys_key_prefix"), "api_keys", ["key_prefix"])

    op.create_table(
        "message_events",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("message_id", ROW_ID, nullable=False),
        sa.Column(
            "part_seq",
            sa.SmallInteger(),
            nullable=True,
            comment="NULL: the event concerns the whole message",
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("modem", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_events_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_message_events_message_id_id"), "message_events", ["message_id", "id"])

    op.create_table(
        "message_parts",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("message_id", ROW_ID, nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False, comment="1-based"),
        sa.Column("total", sa.SmallInteger(), nullable=False),
        sa.Column(
            "pdu", sa.Text(), nullable=True, comment="hex as sent with AT+CMGS, SMSC field included"
        ),
        sa.Column("tpdu_length", sa.SmallInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column(
            "mr", sa.SmallInteger(), nullable=True, comment="TP-MR the modem answered in +CMGS"
        ),
        sa.Column("modem", sa.String(length=32), nullable=True),
        sa.Column(
            "modem_imsi",
            sa.String(length=16),
            nullable=True,
            comment="SIM that sent it: reports match on it",
        ),
        sa.Column(
            "submitted_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="handed to the modem (before +CMGS)",
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True, comment="+CMGS answered"),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "report_status", sa.SmallInteger(), nullable=True, comment="TP-ST of the status report"
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'expired', 'unknown')",
            name=op.f("ck_message_parts_status"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_parts_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_parts")),
        sa.UniqueConstraint("message_id", "seq", name=op.f("uq_message_parts_message_id_seq")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_message_parts_modem_imsi_mr_submitted_at"),
        "message_parts",
        ["modem_imsi", "mr", "submitted_at"],
    )
    op.create_index(op.f("ix_message_parts_status"), "message_parts", ["status"])

    op.create_table(
        "modem_samples",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("modem", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("signal_dbm", sa.SmallInteger(), nullable=True),
        sa.Column("registration", sa.String(length=24), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True, comment="other health figures, free form"),
        sa.ForeignKeyConstraint(
            ["modem"],
            ["modems.name"],
            name=op.f("fk_modem_samples_modem_modems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_modem_samples")),
    )
    op.create_index(op.f("ix_modem_samples_modem_at"), "modem_samples", ["modem", "at"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column(
            "event",
            sa.String(length=32),
            nullable=False,
            comment="message.status, message.received",
        ),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("api_key_id", ROW_ID, nullable=True),
        sa.Column("message_id", ROW_ID, nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("response_status", sa.SmallInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_webhook_deliveries_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_webhook_deliveries_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_webhook_deliveries_status_next_attempt_at"),
        "webhook_deliveries",
        ["status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("modem_samples")
    op.drop_table("message_parts")
    op.drop_table("message_events")
    op.drop_table("api_keys")
    op.drop_table("users")
    op.drop_table("modems")
    op.drop_table("messages")
    op.drop_table("incoming_messages")
    op.drop_table("incoming_fragments")
    op.drop_table("audit_log")
