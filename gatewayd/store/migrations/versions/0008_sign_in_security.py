"""Sign-in security: server-side sessions, failed sign-ins shared by every web process,
two-factor sign-in (TOTP secret, recovery codes), web settings, and user names unique whatever
their case.

User names that differ only in case (``admin`` / ``Admin``) or that hold whitespace or control
characters (``admin\\n``) cannot stay: the oldest of a group of case twins keeps its name, the
others become ``<name>-<id>`` and invalid characters are dropped; every rename is written to the
audit log (``user.rename`` by ``system``) and logged, so an administrator can tell the people
concerned.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_.@-]")
MAX_NAME = 64
log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column(
            "id", sa.String(64), nullable=False, comment="SHA-256 of the session id in the cookie"
        ),
        sa.Column("user_id", ROW_ID, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            ondelete="CASCADE",
            name=op.f("fk_web_sessions_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"])
    op.create_index(op.f("ix_web_sessions_expires_at"), "web_sessions", ["expires_at"])
    op.create_table(
        "auth_failures",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("username_key", sa.String(64), nullable=False, comment="as typed, in lower case"),
        sa.Column("kind", sa.String(16), nullable=False, comment="password, code, password_change"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_failures")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_auth_failures_client_address_at"), "auth_failures", ["client_address", "at"]
    )
    op.create_index(
        op.f("ix_auth_failures_username_key_at"), "auth_failures", ["username_key", "at"]
    )
    op.create_index(op.f("ix_auth_failures_at"), "auth_failures", ["at"])
    op.create_table(
        "recovery_codes",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", ROW_ID, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False, comment="SHA-256 of the code"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            ondelete="CASCADE",
            name=op.f("fk_recovery_codes_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint(
            "user_id", "code_hash", name=op.f("uq_recovery_codes_user_id_code_hash")
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "web_settings",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_web_settings")),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "username_key",
                sa.String(64),
                nullable=True,
                comment="the user name in lower case: names are unique whatever their case",
            )
        )
        batch.add_column(
            sa.Column(
                "totp_secret", sa.Text(), comment="TOTP secret, encrypted with the web secret key"
            )
        )
        batch.add_column(sa.Column("totp_enabled_at", sa.DateTime(timezone=True)))
        batch.add_column(
            sa.Column(
                "totp_last_step", sa.BigInteger(), comment="time step of the last code accepted"
            )
        )
    _rename_twins_and_fill_keys()
    with op.batch_alter_table("users") as batch:
        batch.alter_column("username_key", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint(op.f("uq_users_username_key"), ["username_key"])


def _free_name(base: str, user_id: int, taken: set[str]) -> str:
    name = base or "user"
    if name.lower() not in taken:
        return name
    suffix = f"-{user_id}"
    candidate = name[: MAX_NAME - len(suffix)] + suffix
    n = 2
    while candidate.lower() in taken:
        suffix = f"-{user_id}-{n}"
        candidate = name[: MAX_NAME - len(suffix)] + suffix
        n += 1
    return candidate


def _rename_twins_and_fill_keys() -> None:
    bind = op.get_bind()
    users = sa.table(
        "users",
        sa.column("id", ROW_ID),
        sa.column("username", sa.String),
        sa.column("username_key", sa.String),
    )
    audit = sa.table(
        "audit_log",
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("target", sa.String),
        sa.column("detail", sa.JSON),
    )
    taken: set[str] = set()
    rows = bind.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)).all()
    for user_id, username in rows:
        cleaned = NOT_ALLOWED.sub("", username).lstrip("._@-")[:MAX_NAME]
        name = _free_name(cleaned, user_id, taken)
        taken.add(name.lower())
        values = {"username_key": name.lower()}
        if name != username:
            values["username"] = name
            reason = "invalid characters" if cleaned != username else "same name in another case"
            log.warning("Renamed user %r to %r (%s)", username, name, reason)
            now = datetime.now(UTC)
            bind.execute(
                sa.insert(audit).values(
                    at=now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now,
                    actor="system",
                    action="user.rename",
                    target=name[:200],
                    detail={"from": username, "to": name, "reason": reason},
                )
            )
        bind.execute(sa.update(users).where(users.c.id == user_id).values(**values))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_username_key"), type_="unique")
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enabled_at")
        batch.drop_column("totp_secret")
        batch.drop_column("username_key")
    op.drop_table("web_settings")
    op.drop_table("recovery_codes")
    op.drop_index(op.f("ix_auth_failures_at"), table_name="auth_failures")
    op.drop_index(op.f("ix_auth_failures_username_key_at"), table_name="auth_failures")
    op.drop_index(op.f("ix_auth_failures_client_address_at"), table_name="auth_failures")
    op.drop_table("auth_failures")
    op.drop_index(op.f("ix_web_sessions_expires_at"), table_name="web_sessions")
    op.drop_index(op.f("ix_web_sessions_user_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
