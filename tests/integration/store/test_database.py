"""The Database handle on real PostgreSQL and SQLite: transactions, SQLite set-up, and the one
``DatabaseUnavailable`` boundary for every way a database can be out of reach."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select, text, update

from gatewayd.store import Database, DatabaseUnavailable, modems, utc_now
from gatewayd.store.database import SQLITE_POOL_MAX, WriteInReadError


async def add_modem(db: Database, name: str = "m0") -> None:
    async with db.begin() as conn:
        await conn.execute(modems.insert().values(name=name, host="gw1", device=f"/dev/{name}"))


async def count_modems(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(modems))).scalar_one())


async def test_begin_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    await add_modem(db, "kept")
    with pytest.raises(RuntimeError):
        async with db.begin() as conn:
            await conn.execute(modems.insert().values(name="lost", host="gw1", device="/dev/l"))
            raise RuntimeError("abort")
    async with db.read() as conn:
        names = (await conn.execute(select(modems.c.name))).scalars().all()
    assert names == ["kept"]


async def test_read_never_keeps_changes(db: Database) -> None:
    with contextlib.suppress(WriteInReadError):
        async with db.read() as conn:
            await conn.execute(modems.insert().values(name="x", host="gw1", device="/dev/x"))
    assert await count_modems(db) == 0


async def test_writes_in_a_read_are_refused_on_postgresql(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        with pytest.raises(WriteInReadError, match="INSERT"):
            async with db.read() as conn:
                await conn.execute(modems.insert().values(name="x", host="gw1", device="/d"))
        async with db.read() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await db.close()


async def test_ping_and_dialect_name(db: Database, request: pytest.FixtureRequest) -> None:
    await db.ping()
    assert db.dialect_name == request.node.callspec.params["db_url"]
    pool_size = 20 if db.dialect_name == "postgresql" else SQLITE_POOL_MAX
    assert db.pool_status() == {"size": pool_size, "checked_out": 0, "overflow": 0}
    async with db.read():
        assert db.pool_status()["checked_out"] == 1
    assert db.pool_status()["checked_out"] == 0


async def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(sqlite_url: str) -> None:
    db = Database(sqlite_url, connect_timeout=7)
    try:
        async with db.read() as conn:
            journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert (journal, foreign_keys, busy) == ("wal", 1, 7000)
    finally:
        await db.close()


async def test_concurrent_read_modify_write_transactions_all_land(db_url: str) -> None:
    """Two handles (like two processes) increment one counter 40 times in read-then-write
    transactions; on SQLite this only works because writers take the lock at BEGIN."""
    first, second = Database(db_url), Database(db_url)
    try:
        await add_modem(first)

        async def increment(db: Database) -> None:
            async with db.begin() as conn:
                current = (
                    await conn.execute(
                        select(modems.c.sent_today).where(modems.c.name == "m0").with_for_update()
                    )
                ).scalar_one()
                await asyncio.sleep(0)  # let the other writers run between read and write
                await conn.execute(
                    update(modems).where(modems.c.name == "m0").values(sent_today=current + 1)
                )

        async with asyncio.timeout(60):
            await asyncio.gather(*(increment(first if i % 2 else second) for i in range(40)))
        async with first.read() as conn:
            total = (await conn.execute(select(modems.c.sent_today))).scalar_one()
        assert total == 40
    finally:
        await first.close()
        await second.close()


async def test_unreachable_postgresql_is_one_clear_error() -> None:
    db = Database("postgresql://postgres@127.0.0.1:1/sms_gateway", connect_timeout=5)
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            await db.ping()
    finally:
        await db.close()
    assert str(caught.value) == (
        "cannot connect to PostgreSQL at 127.0.0.1:1/sms_gateway: connection refused"
    )


async def test_missing_postgresql_database_is_named(pg_admin_url: str) -> None:
    url = pg_admin_url.rsplit("/", 1)[0] + "/sms_gateway_no_such_db"
    db = Database(url, connect_timeout=5)
    try:
        with pytest.raises(DatabaseUnavailable, match='"sms_gateway_no_such_db" does not exist'):
            async with db.begin():
                pass
    finally:
        await db.close()


@pytest.mark.parametrize(
    ("make_path", "reason"),
    [
        (lambda tmp: tmp / "a-directory", "unable to open database file"),
        (lambda tmp: tmp / "a-file" / "gateway.db", "cannot create {tmp}/a-file: File exists"),
    ],
)
async def test_unopenable_sqlite_file_is_one_clear_error(
    tmp_path: Path, make_path: Callable[[Path], Path], reason: str
) -> None:
    (tmp_path / "a-directory").mkdir()
    (tmp_path / "a-file").write_text("")
    path = make_path(tmp_path)
    db = Database(f"sqlite:///{path}")
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            await db.ping()
    finally:
        await db.close()
    assert str(caught.value) == f"cannot open SQLite at {path}: {reason.format(tmp=tmp_path)}"


async def test_connection_killed_mid_transaction_is_unavailable_then_recovers(
    pg_url: str, pg_admin_url: str
) -> None:
    db = Database(pg_url)
    try:
        with pytest.raises(DatabaseUnavailable, match=r"^lost the connection to PostgreSQL at"):
            async with db.begin() as conn:
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                admin = await asyncpg.connect(pg_admin_url)
                try:
                    await admin.execute("SELECT pg_terminate_backend($1)", pid)
                finally:
                    await admin.close()
                await conn.execute(modems.insert().values(name="m", host="h", device="/d"))
        await db.ping()
        await add_modem(db, "after")
        assert await count_modems(db) == 1
    finally:
        await db.close()


async def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    from gatewayd.store import migrate as migrations

    db = Database(f"sqlite:///{tmp_path}/new/dir/gateway.db")
    try:
        await migrations.upgrade(db)
        async with db.begin() as conn:
            await conn.execute(
                modems.insert().values(name="m", host="h", device="/d", last_seen=utc_now())
            )
    finally:
        await db.close()
    assert (tmp_path / "new" / "dir" / "gateway.db").is_file()


async def test_exhausted_pool_is_unavailable_not_a_hang(db_url: str) -> None:
    db = Database(db_url, pool_size=1, connect_timeout=0.2)
    held = 0
    try:
        async with contextlib.AsyncExitStack() as stack:
            with pytest.raises(DatabaseUnavailable, match="every pooled connection stayed busy"):
                while held < 5:
                    await stack.enter_async_context(db.read())
                    held += 1
    finally:
        await db.close()
    assert held == 1


async def test_errors_raised_inside_the_block_pass_through_unchanged(db: Database) -> None:
    with pytest.raises(TimeoutError):
        async with db.begin():
            raise TimeoutError("the caller's own timeout")
    with pytest.raises(ConnectionResetError):
        async with db.read():
            raise ConnectionResetError("a modem's socket, not the database")


async def test_server_settings_and_maintenance_outside_a_transaction(db: Database) -> None:
    autovacuum = await db.setting("autovacuum")
    if db.dialect_name == "sqlite":
        assert autovacuum is None
        return
    assert autovacuum in ("on", "off")
    await db.run_outside_transaction("VACUUM (ANALYZE) messages, message_parts")
    async with db.read() as conn:
        analyzed = (
            await conn.exec_driver_sql(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables"
                " WHERE relname = 'messages'"
            )
        ).scalar_one()
    assert analyzed is True


async def test_sqlite_keeps_a_small_pool(tmp_path: Path) -> None:
    """One writer at a time: more connections (a thread and a page cache each) only cost
    memory, so SQLite stops at SQLITE_POOL_MAX whatever pool_size asks."""
    db = Database(f"sqlite:///{tmp_path / 'small.db'}", pool_size=20)
    try:
        assert db.engine.pool.size() == SQLITE_POOL_MAX < 20  # type: ignore[attr-defined]
        async with db.begin() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await db.engine.dispose()
