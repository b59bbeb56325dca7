"""Migration 0010 on a database with API keys: every key ends up in the account ``default``,
keeps authenticating after the upgrade, and the downgrade takes accounts away again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import inspect, select

from gatewayd.store import Database, accounts, api_keys, utc_now
from gatewayd.store import migrate as migrations
from webui.auth.apikeys import generate_key, hash_key, identify_key


@pytest.fixture(params=["postgresql", "sqlite"])
async def old_db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    fixture = "pg_empty_url" if request.param == "postgresql" else "sqlite_empty_url"
    database = Database(request.getfixturevalue(fixture))
    try:
        await migrations.upgrade(database, "0009")
        yield database
    finally:
        await database.close()


async def test_existing_keys_join_the_default_account_and_keep_working(old_db: Database) -> None:
    keys = [generate_key() for _ in range(3)]
    sqlite = old_db.dialect_name == "sqlite"
    now = utc_now().replace(tzinfo=None) if sqlite else utc_now()
    insert = "INSERT INTO api_keys (name, key_prefix, key_hash, role, created_at) " + (
        "VALUES (?, ?, ?, 'operator', ?)" if sqlite else "VALUES ($1, $2, $3, 'operator', $4)"
    )
    async with old_db.begin() as conn:
        for n, key in enumerate(keys):
            await conn.exec_driver_sql(insert, (f"key-{n}", key[:12], hash_key(key), now))

    await migrations.upgrade(old_db)

    async with old_db.read() as conn:
        [default] = (await conn.execute(select(accounts))).all()
        owners = (await conn.execute(select(api_keys.c.account_id))).scalars().all()
    assert default.name == "default" and default.tps is None and default.daily_quota is None
    assert owners == [default.id] * 3
    async with old_db.begin() as conn:
        identities = [await identify_key(conn, key) for key in keys]
    assert [i.name for i in identities if i is not None] == ["key-0", "key-1", "key-2"]
    assert await migrations.schema_differences(old_db) == []

    await migrations.downgrade(old_db, "0009")
    async with old_db.read() as conn:
        left = (await conn.exec_driver_sql("SELECT name FROM api_keys ORDER BY id")).scalars()
        assert list(left) == ["key-0", "key-1", "key-2"]
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "accounts" not in tables and "account_usage" not in tables
    await migrations.upgrade(old_db)
    assert await migrations.schema_differences(old_db) == []
