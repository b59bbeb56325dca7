"""Schema migrations run from code: upgrade to the newest revision, read the current one, and
compare the live schema with the metadata.

The Alembic scripts live in ``gatewayd/store/migrations``; no ``alembic.ini`` is needed to run
them. On PostgreSQL an advisory lock makes concurrent ``gatewayd migrate`` runs (several hosts
starting at once) take turns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from gatewayd.store.database import Database
from gatewayd.store.schema import metadata

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x5356_4757  # any constant; shared by every gatewayd


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
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migration scripts found"
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _run(connection: Connection, action: str, target: str) -> None:
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
    """Create or upgrade the schema in one transaction."""
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
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def schema_differences(db: Database) -> list[Any]:
    """What Alembic autogenerate would change to make the database match the metadata."""
    async with db.read() as conn:
        return await conn.run_sync(_differences)
