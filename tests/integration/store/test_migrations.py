"""Migrations against real databases: an empty database migrated to head matches the metadata
exactly (what ``alembic check`` asserts), on PostgreSQL and on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import inspect

from gatewayd.store import Database, metadata
from gatewayd.store import migrate as migrations


@pytest.fixture(params=["postgresql", "sqlite"])
async def empty_db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    fixture = "pg_empty_url" if request.param == "postgresql" else "sqlite_empty_url"
    database = Database(request.getfixturevalue(fixture))
    try:
        yield database
    finally:
        await database.close()


async def table_names(db: Database) -> set[str]:
    async with db.read() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_upgrade_of_empty_database_matches_metadata(empty_db: Database) -> None:
    assert await migrations.current_revision(empty_db) is None

    result = await migrations.upgrade(empty_db)

    assert result.before is None and result.after == migrations.head_revision()
    assert await migrations.schema_differences(empty_db) == []
    assert await table_names(empty_db) == set(metadata.tables) | {"alembic_version"}


async def test_upgrade_twice_changes_nothing(empty_db: Database) -> None:
    await migrations.upgrade(empty_db)
    again = await migrations.upgrade(empty_db)
    assert not again.changed
    await migrations.require_current_schema(empty_db)


async def test_downgrade_to_base_removes_everything_and_upgrade_restores(
    empty_db: Database,
) -> None:
    await migrations.upgrade(empty_db)

    down = await migrations.downgrade(empty_db)

    assert down.after is None
    assert await table_names(empty_db) <= {"alembic_version"}
    await migrations.upgrade(empty_db)
    assert await migrations.schema_differences(empty_db) == []


async def test_missing_schema_is_reported_before_use(empty_db: Database) -> None:
    with pytest.raises(migrations.SchemaOutdated, match="no gateway schema yet: run `gatewayd"):
        await migrations.require_current_schema(empty_db)


async def test_the_shared_fixture_database_is_at_head(db: Database) -> None:
    assert await migrations.current_revision(db) == migrations.head_revision()
    assert await migrations.schema_differences(db) == []


async def test_queue_tables_are_vacuumed_after_a_fixed_number_of_changes(db: Database) -> None:
    if db.dialect_name != "postgresql":
        pytest.skip("autovacuum settings exist on PostgreSQL only")
    async with db.read() as conn:
        rows = await conn.exec_driver_sql(
            "SELECT relname, reloptions FROM pg_class "
            "WHERE relname IN ('messages', 'message_parts')"
        )
        options = {row.relname: set(row.reloptions or ()) for row in rows}
    for table in ("messages", "message_parts"):
        assert {
            "autovacuum_vacuum_scale_factor=0.0",
            "autovacuum_vacuum_threshold=5000",
        } <= options[table]


async def test_the_version_read_without_alembic_is_alembics_at_every_step(
    empty_db: Database,
) -> None:
    from alembic.runtime.migration import MigrationContext

    def alembics(connection: Any) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    for target in ("0012", "head"):
        await migrations.upgrade(empty_db, target)
        async with empty_db.read() as conn:
            expected = await conn.run_sync(alembics)
        assert await migrations.current_revision(empty_db) == expected
    assert expected == migrations.HEAD_REVISION
    await migrations.downgrade(empty_db)
    assert await migrations.current_revision(empty_db) is None
