"""Tables only the web side uses: dispatcher cursors and Kannel-style delivery-report requests.

Shares :data:`gatewayd.store.schema.metadata`; importing :mod:`gatewayd.store` loads it.

``web_cursors`` remembers how far the webhook dispatcher has read ``message_events`` and
``incoming_messages`` (by row id), so events that happened while no web process ran are still
delivered. ``kannel_dlr`` keeps the ``dlr-url`` / ``dlr-mask`` of messages queued through the
Kannel-compatible ``/cgi-bin/sendsms``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table, Text

from gatewayd.store.schema import metadata, stamped
from gatewayd.store.types import RowId

web_cursors = Table(
    "web_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column(
        "position",
        BigInteger,
        nullable=False,
        server_default="0",
        comment="id of the last source row already turned into deliveries",
    ),
    stamped("updated_at"),
)

kannel_dlr = Table(
    "kannel_dlr",
    metadata,
    Column("message_id", RowId, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("url", Text, nullable=False, comment="dlr-url with %d, %p... placeholders"),
    Column("mask", Integer, nullable=False, comment="Kannel dlr-mask bits: 1, 2, 4, 8, 16"),
)

__all__ = ["kannel_dlr", "web_cursors"]
