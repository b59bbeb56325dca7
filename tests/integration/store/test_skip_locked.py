"""``SELECT … FOR UPDATE SKIP LOCKED`` through SQLAlchemy: on PostgreSQL two transactions
claim different rows; on SQLite the clause is left out and the query still works."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Select, insert, select

from gatewayd.store import Database, messages


def next_queued() -> Select[Any]:
    return (
        select(messages.c.id)
        .where(messages.c.status == "queued")
        .order_by(messages.c.priority.desc(), messages.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def add_queued(db: Database, count: int) -> list[int]:
    async with db.begin() as conn:
        rows = [
            {"recipient": f"+55119876543{i:02d}", "text": "x", "encoding": "gsm7", "segments": 1}
            for i in range(count)
        ]
        result = await conn.execute(insert(messages).returning(messages.c.id), rows)
        return sorted(result.scalars().all())


async def test_postgresql_transactions_skip_each_others_locked_rows(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        assert "FOR UPDATE SKIP LOCKED" in str(next_queued().compile(dialect=db.engine.dialect))
        first_id, second_id = await add_queued(db, 2)
        first_claimed = asyncio.Event()
        release_first = asyncio.Event()

        async def hold_first_claim() -> int:
            async with db.begin() as conn:
                claimed = (await conn.execute(next_queued())).scalar_one()
                first_claimed.set()
                await release_first.wait()
                return int(claimed)

        holder = asyncio.create_task(hold_first_claim())
        async with asyncio.timeout(10):
            await first_claimed.wait()
            async with db.begin() as conn:
                second_claim = (await conn.execute(next_queued())).scalar_one()
            release_first.set()
            first_claim = await holder
        assert (first_claim, second_claim) == (first_id, second_id)
    finally:
        await db.close()


async def test_sqlite_runs_the_same_query(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        assert "FOR UPDATE" not in str(next_queued().compile(dialect=db.engine.dialect))
        first_id, _ = await add_queued(db, 2)
        async with db.begin() as conn:
            assert (await conn.execute(next_queued())).scalar_one() == first_id
    finally:
        await db.close()
