"""kill -9 of ``webui run`` before, during and after the insert of a batch upload.

The batch (one ``POST /api/v1/messages`` with a list of recipients and an Idempotency-Key)
either exists whole or not at all after the kill, and the client's retry with the same key
leaves exactly one set. Each kill lands at a position seen in PostgreSQL, not at a guessed
moment:

- ``before``: the test holds an exclusive lock on ``messages``; the kill comes once webui's
  transaction waits for it in its Idempotency-Key look-up, before any row is written;
- ``during``: the test holds a share lock on ``message_parts``; the kill comes once webui's
  transaction holds its row lock on ``messages`` (the message rows written, uncommitted) and
  waits to write the parts;
- ``after``: the kill comes once the whole batch is committed (seen from another connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy import func, select

from gatewayd.store import Database, messages
from tests.faults.conftest import report_figures
from tests.integration.core_flow.harness import eventually
from tests.support.daemons import create_api_key, external_number, wait_http_ok, webui_process
from tests.support.ports import free_port

SECRET = "faults-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
BATCH = 4000
POSITIONS = ("before", "during", "after")

WAITING_ON = """
    SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE NOT l.granted AND l.relation = $1::regclass AND a.datname = current_database()
"""
WRITES = """
    SELECT count(*) FROM pg_locks WHERE pid = $1 AND mode = 'RowExclusiveLock' AND granted
    AND ($2::regclass IS NULL OR relation = $2::regclass)
"""
"""Row locks ``pid`` holds (on table $2, or on any): one for every table it has written to."""


async def batch_size(db: Database, text: str) -> int:
    async with db.read() as conn:
        query = select(func.count()).select_from(messages).where(messages.c.text == text)
        return int((await conn.execute(query)).scalar_one())


async def waiting_for(locker: asyncpg.Connection, table: str) -> int | None:
    """The pid of a backend waiting for a lock on ``table``, if there is one (only webui's
    can be: the test's own connections never wait)."""
    pid = await locker.fetchval(WAITING_ON, table)
    return None if pid is None else int(pid)


@contextlib.asynccontextmanager
async def holding(locker: asyncpg.Connection, statement: str) -> AsyncIterator[None]:
    """``statement`` (a LOCK TABLE) held in a transaction for the block's duration."""
    transaction = locker.transaction()
    await transaction.start()
    try:
        await locker.execute(statement)
        yield
    finally:
        await transaction.rollback()


async def test_webui_killed_before_during_and_after_the_insert(pg_url: str, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "SMSGW_DATABASE_URL": pg_url,
        "SMSGW_SECRET_KEY": SECRET,
        "SMSGW_LISTEN": f"127.0.0.1:{port}",
    }
    key = await create_api_key(env, "batch")
    web = webui_process(tmp_path, env)
    db = Database(pg_url)
    locker = await asyncpg.connect(pg_url)
    headers = {"Authorization": f"Bearer {key}"}
    landed: dict[str, dict[str, object]] = {}
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        await web.start()
        await wait_http_ok(f"{base}/api/health")
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:

            async def upload(text: str, idempotency: str) -> int:
                body = {"to": [external_number(i) for i in range(BATCH)], "text": text}
                key_header = {"Idempotency-Key": idempotency}
                async with http.post(
                    f"{base}/api/v1/messages", json=body, headers=key_header
                ) as response:
                    await response.read()
                    return response.status

            started = time.monotonic()
            assert await upload("calibration", "calibration") == 202
            upload_seconds = time.monotonic() - started

            async def kill_before(request: asyncio.Task[int]) -> int | None:
                async with holding(locker, "LOCK TABLE messages IN ACCESS EXCLUSIVE MODE"):
                    pid = await eventually(
                        lambda: waiting_for(locker, "messages"),
                        timeout=30,
                        what="webui's key look-up waiting for the lock",
                    )
                    assert await locker.fetchval(WRITES, pid, None) == 0, "rows already written"
                    assert not request.done()
                    await web.kill9()
                return pid

            async def kill_during(request: asyncio.Task[int]) -> int | None:
                async with holding(locker, "LOCK TABLE message_parts IN SHARE MODE"):
                    pid = await eventually(
                        lambda: waiting_for(locker, "message_parts"),
                        timeout=30,
                        what="webui's parts insert waiting for the lock",
                    )
                    wrote = await locker.fetchval(WRITES, pid, "messages")
                    assert wrote == 1, "the message rows are not written yet"
                    assert not request.done()
                    await web.kill9()
                return pid

            async def kill_after(request: asyncio.Task[int]) -> int | None:
                text = request.get_name()

                async def committed() -> bool:
                    return await batch_size(db, text) == BATCH

                await eventually(committed, timeout=30, what="the batch committed")
                await web.kill9()
                return None

            killers: dict[str, Callable[[asyncio.Task[int]], Awaitable[int | None]]] = {
                "before": kill_before,
                "during": kill_during,
                "after": kill_after,
            }
            for position in POSITIONS:
                text, idempotency = f"batch-{position}", f"key-{position}"
                request = asyncio.create_task(upload(text, idempotency), name=text)
                backend = await killers[position](request)
                answered = None
                with contextlib.suppress(aiohttp.ClientError):
                    answered = await request
                if backend is not None:
                    await eventually(
                        lambda pid=backend: backend_gone(locker, pid),
                        timeout=30,
                        what="the killed webui's backend to end",
                    )
                after_kill = await batch_size(db, text)
                landed[position] = {"rows_after_kill": after_kill, "answered": answered}
                assert after_kill == (BATCH if position == "after" else 0), (position, after_kill)
                await web.start()
                await wait_http_ok(f"{base}/api/health")
                assert await upload(text, idempotency) == (200 if after_kill else 202)
                assert await upload(text, idempotency) == 200, "a replay answers the earlier set"
                assert await batch_size(db, text) == BATCH, "exactly one set after retries"
        report_figures(
            "webui_kill_batch",
            {
                "batch": BATCH,
                "upload_seconds": round(upload_seconds, 3),
                "kills": web.kills,
                "positions": landed,
            },
        )
        assert web.kills == len(POSITIONS)
        assert landed["before"]["answered"] is None and landed["during"]["answered"] is None
    finally:
        await locker.close()
        await web.stop()
        await db.close()


async def backend_gone(locker: asyncpg.Connection, pid: int) -> bool:
    return not await locker.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)
