"""The shared database and Redis fixtures keep their promises: each test starts empty."""

from __future__ import annotations

import redis.asyncio as redis_asyncio
from sqlalchemy import func, insert, select

from gatewayd.store import Database, messages
from tests.fixtures_db import PgDatabases, database_url


async def insert_one(url: str) -> int:
    db = Database(url)
    try:
        async with db.begin() as conn:
            statement = insert(messages).values(
                recipient="+5511987654321", text="x", encoding="gsm7", segments=1
            )
            return int((await conn.execute(statement.returning(messages.c.id))).scalar_one())
    finally:
        await db.close()


async def count_messages(url: str) -> int:
    db = Database(url)
    try:
        async with db.read() as conn:
            count = select(func.count()).select_from(messages)
            return int((await conn.execute(count)).scalar_one())
    finally:
        await db.close()


async def test_reused_postgresql_database_comes_back_empty(pg_databases: PgDatabases) -> None:
    name = pg_databases.acquire()
    url = database_url(name)
    await insert_one(url)
    assert await insert_one(url) == 2
    pg_databases.release(name)

    again = pg_databases.acquire()
    try:
        assert again == name
        assert await count_messages(url) == 0
        assert await insert_one(url) == 1
    finally:
        pg_databases.release(again)


async def test_redis_url_starts_empty(redis_url: str) -> None:
    client = redis_asyncio.Redis.from_url(redis_url)
    try:
        assert await client.dbsize() == 0
        await client.set("smsgw:test", "1")
        assert await client.get("smsgw:test") == b"1"
    finally:
        await client.aclose()
