"""The database schema: one SQLAlchemy Core ``MetaData`` for PostgreSQL and SQLite alike.

This module owns the sending and receiving side: outgoing messages, their parts and status
timeline, incoming messages and unfinished multipart fragments, modems and their signal history, and
which gatewayd hosts run with which modems, their leases, and the takeovers of hosts whose
lease expired.
Users, API keys, the audit log and webhook deliveries are in :mod:`gatewayd.store.schema_access`.
Every change here needs an Alembic revision in ``gatewayd/store/migrations/versions``.

Statuses are plain strings guarded by CHECK constraints (no native enums: adding a status is a
one-line migration). Timestamps are :class:`~gatewayd.store.types.UtcDateTime`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)

from gatewayd.store.types import RowId, UtcDateTime, utc_now

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"
    """The daemon died between handing a part to a modem and hearing back: never resent."""


class PartStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


def one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


def stamped(name: str, comment: str | None = None) -> Column[datetime]:
    """A NOT NULL time column filled with the current time when an insert leaves it out."""
    return Column(
        name,
        UtcDateTime(),
        nullable=False,
        default=utc_now,
        server_default=func.now(),
        comment=comment,
    )


messages = Table(
    "messages",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("recipient", String(32), nullable=False, comment="E.164, e.g. +5511987654321"),
    Column("text", Text, nullable=False),
    Column("encoding", String(8), nullable=False, comment="gsm7 or ucs2"),
    Column("segments", SmallInteger, nullable=False),
    Column("status", String(16), nullable=False, server_default=MessageStatus.QUEUED.value),
    Column("priority", Integer, nullable=False, server_default="0", comment="higher first"),
    Column("send_at", UtcDateTime(), comment="not before this time; NULL: now"),
    Column("modem", String(32), comment="the modem the sender asked for; NULL: any"),
    Column("assigned_modem", String(32), comment="the modem that took the message"),
    Column("avoid_modem", String(32), comment="a modem that failed this message"),
    Column("status_report", Boolean, nullable=False, server_default=false()),
    Column("flash", Boolean, nullable=False, server_default=false()),
    Column("validity_minutes", Integer),
    Column("concat_ref", Integer, comment="concatenation reference of multipart sends"),
    Column(
        "concat_total",
        SmallInteger,
        comment="with concat_seq: this message is one part of a message its sender split "
        "itself (an SMPP client), sent as one SMS with the header (concat_ref, total, seq)",
    ),
    Column("concat_seq", SmallInteger, comment="1-based; see concat_total"),
    Column("idempotency_key", String(255)),
    Column("callback_url", Text),
    Column("attempts", SmallInteger, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime(), comment="retry not before; NULL: now"),
    Column("error", Text, comment="why the last attempt failed, one line"),
    stamped("created_at"),
    stamped("updated_at"),
    Column("sent_at", UtcDateTime()),
    Column("delivered_at", UtcDateTime()),
    Column("claimed_by", String(64), comment="gatewayd host that claimed the message"),
    Column("claimed_at", UtcDateTime()),
    Column(
        "created_by",
        String(100),
        nullable=False,
        server_default="system",
        comment="who queued it: user:<name>, api_key:<id>, cli, ...",
    ),
    Column("batch_id", RowId, comment="messages sent together (one bulk request) share it"),
    Column(
        "account_id",
        RowId,
        comment="client account that sent it (accounts.id, no foreign key); NULL: a user, the CLI",
    ),
    one_of("status", MessageStatus, "status"),
    CheckConstraint("segments BETWEEN 1 AND 255", name="segments"),
    UniqueConstraint("created_by", "idempotency_key"),
    Index(None, "status", "priority", "id"),
    Index("ix_messages_status_id", "status", "id"),
    Index(None, "recipient", "id"),
    Index(None, "batch_id"),
    Index(
        None,
        "claimed_by",
        "status",
        postgresql_where=text("claimed_by IS NOT NULL"),
        sqlite_where=text("claimed_by IS NOT NULL"),
    ),
    sqlite_autoincrement=True,
)

message_parts = Table(
    "message_parts",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("message_id", RowId, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("seq", SmallInteger, nullable=False, comment="1-based"),
    Column("total", SmallInteger, nullable=False),
    Column("pdu", Text, comment="hex as sent with AT+CMGS, SMSC field included"),
    Column("tpdu_length", SmallInteger),
    Column("status", String(16), nullable=False, server_default=PartStatus.QUEUED.value),
    Column("mr", SmallInteger, comment="TP-MR the modem answered in +CMGS"),
    Column("modem", String(32)),
    Column("modem_imsi", String(16), comment="SIM that sent it: reports match on it"),
    Column("submitted_at", UtcDateTime(), comment="handed to the modem (before +CMGS)"),
    Column("sent_at", UtcDateTime(), comment="+CMGS answered"),
    Column("delivered_at", UtcDateTime()),
    Column("report_status", SmallInteger, comment="TP-ST of the status report"),
    Column("error", Text),
    Column("attempts", SmallInteger, nullable=False, server_default="0"),
    one_of("status", PartStatus, "status"),
    UniqueConstraint("message_id", "seq"),
    Index(
        None,
        "modem_imsi",
        "mr",
        "submitted_at",
        postgresql_where=text("modem_imsi IS NOT NULL"),
        sqlite_where=text("modem_imsi IS NOT NULL"),
    ),
    Index(
        "ix_message_parts_awaiting_report",
        "modem_imsi",
        "mr",
        "submitted_at",
        postgresql_where=text("status IN ('sent', 'expired')"),
        sqlite_where=text("status IN ('sent', 'expired')"),
    ),
    Index(None, "status"),
    sqlite_autoincrement=True,
)

message_events = Table(
    "message_events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("message_id", RowId, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("part_seq", SmallInteger, comment="NULL: the event concerns the whole message"),
    Column("status", String(16), nullable=False),
    Column("detail", Text),
    Column("modem", String(32)),
    stamped("at"),
    Index(None, "message_id", "id"),
    sqlite_autoincrement=True,
)

incoming_messages = Table(
    "incoming_messages",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("sender", String(32), nullable=False, comment="E.164 when international, else as sent"),
    Column("text", Text, nullable=False),
    Column("modem", String(32), nullable=False),
    Column("modem_imsi", String(16)),
    Column("smsc", String(32)),
    Column("received_at", UtcDateTime(), nullable=False, comment="the SMSC time stamp (SCTS)"),
    stamped("stored_at"),
    Column("concat_ref", Integer, comment="set when reassembled from several parts"),
    Column("concat_total", SmallInteger),
    Column("read_at", UtcDateTime(), comment="when an operator read it; NULL: unread"),
    Column(
        "dedupe_key",
        String(64),
        nullable=False,
        comment="hash of imsi, sender, scts, ref and text: a message stored once",
    ),
    UniqueConstraint("dedupe_key"),
    Index(None, "received_at"),
    Index(None, "sender"),
    Index(
        "ix_incoming_messages_unread",
        "id",
        postgresql_where=text("read_at IS NULL"),
        sqlite_where=text("read_at IS NULL"),
    ),
    sqlite_autoincrement=True,
)

incoming_fragments = Table(
    "incoming_fragments",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("modem", String(32), nullable=False),
    Column("modem_imsi", String(16), nullable=False, server_default=""),
    Column("sender", String(32), nullable=False),
    Column("concat_ref", Integer, nullable=False),
    Column("total", SmallInteger, nullable=False),
    Column("seq", SmallInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("scts", UtcDateTime(), nullable=False),
    Column("smsc", String(32)),
    stamped("received_at", "when this gateway got the part"),
    UniqueConstraint("modem_imsi", "sender", "concat_ref", "total", "seq"),
    Index(None, "received_at"),
)

modems = Table(
    "modems",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("host", String(64), nullable=False, comment="gatewayd host that owns it"),
    Column("device", Text, nullable=False),
    Column("state", String(24), nullable=False, server_default="offline"),
    Column("imei", String(20)),
    Column("imsi", String(16)),
    Column("iccid", String(24)),
    Column("manufacturer", Text),
    Column("model", Text),
    Column("revision", Text),
    Column("operator", Text),
    Column("signal_dbm", SmallInteger),
    Column("registration", String(24)),
    Column("last_seen", UtcDateTime()),
    Column("sent_today", Integer, nullable=False, server_default="0"),
    Column("sent_today_date", String(10), comment="UTC date (YYYY-MM-DD) sent_today counts"),
    Column("error", Text),
    Column("balance", Float, comment="SIM credit from the last balance check (USSD)"),
    Column("balance_text", Text, comment="the operator's answer to the balance check"),
    Column("balance_at", UtcDateTime()),
    Column(
        "low_balance",
        Float,
        comment="the modem's configured low-credit threshold at the last balance check",
    ),
    stamped("updated_at"),
)


class HostState(StrEnum):
    RUNNING = "running"
    """Holds its lease and has modems."""
    IDLE = "idle"
    """Holds its lease, no enabled modem: sends nothing."""
    STOPPED = "stopped"
    """Stopped cleanly: gave its claims back and its lease up."""
    TAKEN_OVER = "taken_over"
    """Its lease expired and another host took over its work; it rejoins with a new epoch."""


LEASE_HOLDING = (HostState.RUNNING.value, HostState.IDLE.value)
"""States of a host that holds (or held, until it expires) a lease."""

gateway_hosts = Table(
    "gateway_hosts",
    metadata,
    Column("host", String(64), primary_key=True, comment="gatewayd's [gateway] host name"),
    Column("state", String(16), nullable=False, comment="running, idle, stopped, taken_over"),
    Column("modems", JSON, nullable=False, comment="names of the modems it runs"),
    Column("pid", Integer),
    stamped("started_at"),
    stamped("seen_at", "the lease's last renewal (database clock)"),
    Column(
        "epoch",
        BigInteger,
        nullable=False,
        server_default="0",
        comment="raised each time the host takes its lease anew; its writes name it",
    ),
    Column("expires_at", UtcDateTime(), comment="the lease ends then (database clock)"),
    Column("instance", String(200), comment="the machine and data folder holding the lease"),
    Column("taken_over_by", String(64), comment="the host that took over its work last"),
    Column("taken_over_at", UtcDateTime()),
    one_of("state", HostState, "state"),
)

host_takeovers = Table(
    "host_takeovers",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("host", String(64), nullable=False, comment="the host whose lease expired"),
    Column("epoch", BigInteger, nullable=False, comment="the epoch its lease had"),
    Column("by_host", String(64), nullable=False, comment="the host that took over"),
    stamped("at"),
    Column("unknown_parts", Integer, nullable=False, comment="parts it may have sent: unknown"),
    Column("requeued_messages", Integer, nullable=False, comment="claims given back to the queue"),
    Column("failed_over", Integer, nullable=False, comment="bound messages moved to any modem"),
    Column("waiting", Integer, nullable=False, comment="bound messages left for the host"),
    Index(None, "host", "at"),
    sqlite_autoincrement=True,
)

modem_samples = Table(
    "modem_samples",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("modem", String(32), ForeignKey("modems.name", ondelete="CASCADE"), nullable=False),
    stamped("at"),
    Column("signal_dbm", SmallInteger),
    Column("registration", String(24)),
    Column("detail", JSON, comment="other health figures, free form"),
    Index(None, "modem", "at"),
)

__all__ = [
    "LEASE_HOLDING",
    "HostState",
    "MessageStatus",
    "PartStatus",
    "gateway_hosts",
    "host_takeovers",
    "incoming_fragments",
    "incoming_messages",
    "message_events",
    "message_parts",
    "messages",
    "metadata",
    "modem_samples",
    "modems",
]
