"""The SQLite database holds message texts, numbers and password hashes: its file and its WAL
companions are readable by their owner only (0600), whatever the umask, and files found looser
are tightened when the database is opened."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gatewayd.store import Database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def test_a_new_database_and_its_wal_files_are_private(
    tmp_path: Path, permissive_umask: None
) -> None:
    path = tmp_path / "data" / "gateway.db"
    db = Database(f"sqlite:///{path}")
    try:
        async with db.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x TEXT)"))
            await conn.execute(text("INSERT INTO t VALUES ('+5511987654321')"))
        companions = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(p.exists() for p in companions)
        assert {p.name: mode(p) for p in (path, *companions)} == {
            "gateway.db": 0o600,
            "gateway.db-wal": 0o600,
            "gateway.db-shm": 0o600,
        }
    finally:
        await db.close()


async def test_files_found_looser_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "gateway.db"
    db = Database(f"sqlite:///{path}")
    try:
        async with db.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x TEXT)"))
    finally:
        await db.close()
    wal = path.with_name(path.name + "-wal")
    wal.touch()
    for loose in (path, wal):
        os.chmod(loose, 0o644)
    db = Database(f"sqlite:///{path}")
    try:
        await db.ping()
        assert mode(path) == 0o600
        assert mode(wal) == 0o600
    finally:
        await db.close()
