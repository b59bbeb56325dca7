"""Web compose: contacts, contact groups and message templates.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "contact_groups",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_contact_groups_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "contacts",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "number", sa.String(length=32), nullable=False, comment="E.164, e.g. +5511987654321"
        ),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("number", name=op.f("uq_contacts_number")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_contacts_name"), "contacts", ["name"], unique=False)
    op.create_table(
        "message_templates",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_message_templates_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "contact_group_members",
        sa.Column("group_id", ROW_ID, nullable=False),
        sa.Column("contact_id", ROW_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_group_members_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["contact_groups.id"],
            name=op.f("fk_contact_group_members_group_id_contact_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "contact_id", name=op.f("pk_contact_group_members")),
    )


def downgrade() -> None:
    op.drop_table("contact_group_members")
    op.drop_table("message_templates")
    op.drop_index(op.f("ix_contacts_name"), table_name="contacts")
    op.drop_table("contacts")
    op.drop_table("contact_groups")
