"""The SMPP server's tables: what an SMPP client asked for beside the message, and the
``deliver_sm`` outbox (delivery receipts and incoming SMS) waiting for a client to take them.

Shares :data:`gatewayd.store.schema.metadata`; importing :mod:`gatewayd.store` loads it.

``smpp_submits`` holds one row per message queued by ``submit_sm`` / ``submit_multi``, written
in the transaction of the message itself: the account, ``registered_delivery`` and the
addresses and codings as the client gave them (a receipt and ``query_sm`` answer with them).
``smpp_deliveries`` holds each ``deliver_sm`` as encoded bytes (sequence number 0, replaced
when sent) until a bound receiver of its account answers it with ``ESME_ROK``; until then it
is sent again, across restarts of either side.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)

from gatewayd.store.schema import metadata, one_of, stamped
from gatewayd.store.types import RowId, UtcDateTime


class DeliveryKind(StrEnum):
    RECEIPT = "receipt"
    INCOMING = "incoming"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"


smpp_submits = Table(
    "smpp_submits",
    metadata,
    Column("message_id", RowId, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", RowId, nullable=False, comment="accounts.id of the bind that sent it"),
    Column(
        "registered_delivery",
        SmallInteger,
        nullable=False,
        server_default="0",
        comment="SMPP registered_delivery: bits 0-1 ask for a receipt (1 any, 2 on failure)",
    ),
    Column("source_addr", String(21), nullable=False, server_default=""),
    Column("source_addr_ton", SmallInteger, nullable=False, server_default="0"),
    Column("source_addr_npi", SmallInteger, nullable=False, server_default="0"),
    Column("destination_addr", String(21), nullable=False, comment="as the client wrote it"),
    Column("dest_addr_ton", SmallInteger, nullable=False, server_default="0"),
    Column("dest_addr_npi", SmallInteger, nullable=False, server_default="0"),
    Column("data_coding", SmallInteger, nullable=False, server_default="0"),
    Column("esm_class", SmallInteger, nullable=False, server_default="0"),
    Column("service_type", String(6), nullable=False, server_default=""),
    Column("user_message_reference", Integer, comment="the client's own reference (TLV)"),
    Index(None, "account_id", "message_id"),
)

smpp_deliveries = Table(
    "smpp_deliveries",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("account_id", RowId, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False, comment="receipt or incoming"),
    Column("message_id", RowId, comment="receipt: the message it reports on"),
    Column("incoming_id", RowId, comment="incoming: incoming_messages.id"),
    Column("body", LargeBinary, nullable=False, comment="the deliver_sm PDU, sequence number 0"),
    Column("status", String(8), nullable=False, server_default=DeliveryStatus.PENDING.value),
    Column("attempts", SmallInteger, nullable=False, server_default="0"),
    Column(
        "next_attempt_at",
        UtcDateTime(),
        nullable=False,
        comment="due from then; a send in progress leases it by moving it ahead",
    ),
    Column("last_error", Text, comment="why the last attempt was not acknowledged, one line"),
    stamped("created_at"),
    Column("delivered_at", UtcDateTime(), comment="answered with ESME_ROK"),
    one_of("kind", DeliveryKind, "kind"),
    one_of("status", DeliveryStatus, "status"),
    Index(
        "ix_smpp_deliveries_pending",
        "account_id",
        "next_attempt_at",
        "id",
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
    Index(None, "delivered_at"),
    sqlite_autoincrement=True,
)

__all__ = ["DeliveryKind", "DeliveryStatus", "smpp_deliveries", "smpp_submits"]
