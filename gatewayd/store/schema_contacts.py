"""Address book and reusable texts for the web compose page: contacts, groups, templates.

Shares :data:`gatewayd.store.schema.metadata`; importing :mod:`gatewayd.store` loads it.
Numbers are stored normalised (E.164) so a group expands to the same recipients the queue
would validate.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint

from gatewayd.store.schema import metadata, stamped
from gatewayd.store.types import RowId

contacts = Table(
    "contacts",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("number", String(32), nullable=False, comment="E.164, e.g. +5511987654321"),
    stamped("created_at"),
    UniqueConstraint("number"),
    Index(None, "name"),
    sqlite_autoincrement=True,
)

contact_groups = Table(
    "contact_groups",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    stamped("created_at"),
    UniqueConstraint("name"),
    sqlite_autoincrement=True,
)

contact_group_members = Table(
    "contact_group_members",
    metadata,
    Column(
        "group_id",
        RowId,
        ForeignKey("contact_groups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("contact_id", RowId, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
)

message_templates = Table(
    "message_templates",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("text", Text, nullable=False),
    stamped("created_at"),
    UniqueConstraint("name"),
    sqlite_autoincrement=True,
)

__all__ = ["contact_group_members", "contact_groups", "contacts", "message_templates"]
