"""Migration 0008 on a database holding user names that differ only in case or carry a control
character (``admin``, ``Admin``, ``admin\\n``): the oldest keeps its name, the others are
renamed, every rename is in the audit log, and names are unique whatever their case after."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from gatewayd.store import Database, audit_log, users, utc_now
from gatewayd.store import migrate as migrations


@pytest.fixture(params=["postgresql", "sqlite"])
async def old_db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    fixture = "pg_empty_url" if request.param == "postgresql" else "sqlite_empty_url"
    database = Database(request.getfixturevalue(fixture))
    try:
        await migrations.upgrade(database, "0007")
        yield database
    finally:
        await database.close()


async def test_case_twins_and_control_characters_are_renamed(old_db: Database) -> None:
    names = ["admin", "Admin", "admin\n", "Ops", "ops ", "viewer"]
    async with old_db.begin() as conn:
        for name in names:
            await conn.exec_driver_sql(
                "INSERT INTO users (username, password_hash, role, created_at) "
                "VALUES (?, 'x', 'admin', ?)"
                if old_db.dialect_name == "sqlite"
                else "INSERT INTO users (username, password_hash, role, created_at) "
                "VALUES ($1, 'x', 'admin', $2)",
                (
                    name,
                    utc_now().replace(tzinfo=None)
                    if old_db.dialect_name == "sqlite"
                    else utc_now(),
                ),
            )

    await migrations.upgrade(old_db)

    async with old_db.read() as conn:
        rows = (
            await conn.execute(
                select(users.c.id, users.c.username, users.c.username_key).order_by(users.c.id)
            )
        ).all()
        renames = (
            await conn.execute(
                select(audit_log.c.actor, audit_log.c.detail).where(
                    audit_log.c.action == "user.rename"
                )
            )
        ).all()
    assert [row.username for row in rows] == [
        "admin",
        "Admin-2",
        "admin-3",
        "Ops",
        "ops-5",
        "viewer",
    ]
    assert [row.username_key for row in rows] == [row.username.lower() for row in rows]
    assert {r.detail["from"] for r in renames} == {"Admin", "admin\n", "ops "}
    assert all(r.actor == "system" for r in renames)
    assert await migrations.schema_differences(old_db) == []
    with pytest.raises(IntegrityError):
        async with old_db.begin() as conn:
            await conn.execute(
                insert(users).values(
                    username="ADMIN", username_key="admin", password_hash="x", role="viewer"
                )
            )
