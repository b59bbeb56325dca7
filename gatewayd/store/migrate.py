"""Schema migrations run from code: upgrade to the newest revision, read the current one, and
compare the live schema with the metadata.

The Alembic scripts live in ``gatewayd/store/migrations``; no ``alembic.ini`` is needed to run
them. On PostgreSQL an advisory lock makes concurrent ``gatewayd migrate`` runs (several hosts
starting at once) take turns.

Alembic is imported only by the functions that change or compare the schema: checking that a
database is current (what every command does before it starts) reads ``alembic_version`` and
compares it with :data:`HEAD_REVISION`, so a process that does not migrate never loads Alembic
(and Mako, which it brings) at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from gatewayd.store.database import Database
from gatewayd.store.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x5356_4757  # any constant; shared by every gatewayd
HEAD_REVISION = "0016"
"""The newest revision in ``migrations/versions``; a unit test keeps it equal to Alembic's head."""
VERSION_TABLE = "alembic_version"


class SchemaOutdated(Exception):
    """The database schema is not the one this gatewayd was built for; one-line message."""


@dataclass(frozen=True)
class MigrationResult:
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    return HEAD_REVISION


def scripts_head_revision() -> str:
    """The head Alembic finds among the migration scripts: what :data:`HEAD_REVISION` names."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migration scripts found"
    return head


def _current(connection: Connection) -> str | None:
    """The revision in Alembic's version table (one row once migrated), None before any."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        return ", ".join(sorted(rows))
    return rows[0] if rows else None


def _run(connection: Connection, action: str, target: str) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(config, target)
    else:
        command.downgrade(config, target)


async def _migrate(db: Database, action: str, target: str) -> MigrationResult:
    async with db.begin() as conn:
        if db.dialect_name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            await conn.execute(lock, {"key": MIGRATION_LOCK_KEY})
        before = await conn.run_sync(_current)
        await conn.run_sync(_run, action, target)
        after = await conn.run_sync(_current)
    return MigrationResult(before, after)


async def upgrade(db: Database, target: str = "head") -> MigrationResult:
    """Create or upgrade the schema in one transaction; a database already at the head is left
    as it is without loading Alembic (every SQLite command opens its database this way)."""
    if target in ("head", HEAD_REVISION):
        current = await current_revision(db)
        if current == HEAD_REVISION:
            return MigrationResult(current, current)
    return await _migrate(db, "upgrade", target)


async def downgrade(db: Database, target: str = "base") -> MigrationResult:
    return await _migrate(db, "downgrade", target)


async def current_revision(db: Database) -> str | None:
    """The database's revision; None when no migration ever ran there."""
    async with db.read() as conn:
        return await conn.run_sync(_current)


async def require_current_schema(db: Database) -> None:
    """Raise :class:`SchemaOutdated` unless the database is at :func:`head_revision`."""
    current, head = await current_revision(db), head_revision()
    if current is None:
        raise SchemaOutdated(f"{db.description} has no gateway schema yet: run `gatewayd migrate`")
    if current != head:
        raise SchemaOutdated(
            f"{db.description} schema is at revision {current}, this gatewayd needs {head}: "
            "run `gatewayd migrate`"
        )


def _differences(connection: Connection) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def schema_differences(db: Database) -> list[Any]:
    """What Alembic autogenerate would change to make the database match the metadata."""
    async with db.read() as conn:
        return await conn.run_sync(_differences)
