"""Fixtures for the integration tier: real PostgreSQL, SQLite files and Redis.

PostgreSQL is the server of ``$SMSGW_TEST_PG_ADMIN_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``, trust auth). Each test session migrates one
template database ``sms_gateway_test_<random>_template`` and clones it for tests. A test that
asks for ``pg_url`` gets a database of its own with the current schema and no rows; afterwards
its other connections are cut, its rows deleted and sequences reset (about 20 ms), and the
database goes to the next test. A database whose schema a test changed is dropped instead.
Every ``sms_gateway_test_<random>_*`` database is dropped at the end of the session.
When PostgreSQL or Redis is unreachable the tests fail with a one-line reason; they never skip.

Fixtures (all URLs are in the form users write, as ``SMSGW_DATABASE_URL`` takes them; pass
them to ``gatewayd.store.Database(url)`` or put them in the environment of a subprocess):

``pg_url``
    A fresh, migrated, empty PostgreSQL database for this test.
``pg_empty_url``
    A fresh PostgreSQL database with no tables at all (for migration tests).
``sqlite_url`` / ``sqlite_empty_url``
    The same for SQLite: a file in the test's ``tmp_path``.
``db_url``
    Parametrized over ``postgresql`` and ``sqlite``: the test runs once on each, with a fresh
    migrated database (``request.node.callspec.id`` says which).
``db``
    An open :class:`gatewayd.store.Database` on ``db_url``; closed after the test.
``pg_admin_url``
    The server's maintenance database, for tests that create or kill things themselves.
``redis_url``
    ``$SMSGW_TEST_REDIS_SERVER/<n>`` (default server ``redis://127.0.0.1:6379``) with ``n`` from
    ``$SMSGW_TEST_REDIS_DB`` (default 9),
    ``FLUSHDB``-ed before and after the test.

Loaded once for every tier by ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
import redis
from sqlalchemy.engine import make_url

from gatewayd.store import Database, metadata
from gatewayd.store import migrate as migrations

__all__ = [
    "db",
    "db_url",
    "pg_admin_url",
    "pg_databases",
    "pg_empty_url",
    "pg_template",
    "pg_url",
    "redis_url",
    "sqlite_empty_url",
    "sqlite_template",
    "sqlite_url",
]

T = TypeVar("T")

PG_ADMIN_URL = os.environ.get(
    "SMSGW_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_SERVER = os.environ.get("SMSGW_TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
REDIS_URL = "{server}/{db}".format(
    server=REDIS_SERVER.rstrip("/"), db=os.environ.get("SMSGW_TEST_REDIS_DB", "9")
)
SESSION_TAG = secrets.token_hex(4)
HEAD = migrations.head_revision()
_clone_numbers = count(1)


def run_in_fresh_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on its own loop in another thread.

    Sync fixtures use this so they work the same for sync and async tests, whatever loop
    pytest-asyncio is running.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def database_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def _admin(*statements: str) -> None:
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc}", pytrace=False)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def create_database(name: str, template: str | None = None) -> str:
    clause = f' TEMPLATE "{template}"' if template else ""
    run_in_fresh_loop(_admin(f'CREATE DATABASE "{name}"{clause}'))
    return database_url(name)


def drop_database(name: str) -> None:
    run_in_fresh_loop(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await migrations.upgrade(db)
    finally:
        await db.close()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    return PG_ADMIN_URL


async def _empty_for_reuse(name: str) -> None:
    """Cut other connections, then delete every row and reset sequences; raise if the schema
    is no longer the migrated one."""
    conn = await asyncpg.connect(database_url(name), timeout=10)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        if await conn.fetchval("SELECT version_num FROM alembic_version") != HEAD:
            raise RuntimeError(f"{name} is no longer at revision {HEAD}")
        sequences = await conn.fetch(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
        )
        async with conn.transaction():
            for table in reversed(metadata.sorted_tables):
                await conn.execute(f'DELETE FROM "{table.name}"')
            for row in sequences:
                await conn.execute(f'ALTER SEQUENCE "{row["sequencename"]}" RESTART')
    finally:
        await conn.close()


class PgDatabases:
    """Migrated databases cloned from the session template, emptied and reused between tests."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.free: list[str] = []
        self.created: list[str] = []

    def acquire(self) -> str:
        if self.free:
            return self.free.pop()
        name = f"sms_gateway_test_{SESSION_TAG}_{next(_clone_numbers)}"
        create_database(name, template=self.template)
        self.created.append(name)
        return name

    def release(self, name: str) -> None:
        try:
            run_in_fresh_loop(_empty_for_reuse(name))
        except (OSError, RuntimeError, asyncpg.PostgresError):
            drop_database(name)
            self.created.remove(name)
        else:
            self.free.append(name)

    def drop_all(self) -> None:
        for name in self.created:
            drop_database(name)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """Name of this session's migrated template database."""
    name = f"sms_gateway_test_{SESSION_TAG}_template"
    url = create_database(name)
    try:
        run_in_fresh_loop(_migrate(url))
        yield name
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
def pg_databases(pg_template: str) -> Iterator[PgDatabases]:
    databases = PgDatabases(pg_template)
    try:
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture
def pg_url(pg_databases: PgDatabases) -> Iterator[str]:
    name = pg_databases.acquire()
    try:
        yield database_url(name)
    finally:
        pg_databases.release(name)


@pytest.fixture
def pg_empty_url() -> Iterator[str]:
    name = f"sms_gateway_test_{SESSION_TAG}_{next(_clone_numbers)}_empty"
    url = create_database(name)
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file to copy; nobody writes to it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "gateway.db"
    run_in_fresh_loop(_migrate(f"sqlite:///{path}"))
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "data" / "gateway.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def sqlite_empty_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'empty' / 'gateway.db'}"


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    fixture = "pg_url" if request.param == "postgresql" else "sqlite_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        client.close()
        pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}", pytrace=False)
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()
