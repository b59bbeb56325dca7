"""The web UI's settings cache on real databases: requests that find it expired together share
one read (an SMPP window of submits asks for the default country at once), and a change made
here is what the next request sees, even with a read begun before it still under way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from gatewayd.store import Database
from webui.services import preferences
from webui.services.caller import Caller
from webui.services.preferences import Preferences

CALLER = Caller("user:admin", "127.0.0.1")


@pytest.fixture
def setting_reads(db: Database) -> Iterator[list[str]]:
    """The statements that read ``web_settings``, as the database receives them."""
    seen: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "web_settings" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", executed)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", executed)


async def test_concurrent_requests_share_one_read(db: Database, setting_reads: list[str]) -> None:
    prefs = Preferences(db, "br")
    found = await asyncio.gather(*(prefs.default_region() for _ in range(50)))
    assert found == ["BR"] * 50
    assert len(setting_reads) == 1
    assert await prefs.default_region() == "BR"
    assert len(setting_reads) == 1  # cached


async def test_a_change_is_seen_at_once_even_over_a_read_under_way(
    db: Database, setting_reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefs = Preferences(db, "BR")
    await prefs.set_default_region(CALLER, "PT")
    before = [asyncio.create_task(prefs.default_region()) for _ in range(5)]
    await asyncio.sleep(0)  # their shared read has begun
    await prefs.set_default_region(CALLER, "AR")
    assert await prefs.default_region() == "AR"
    assert set(await asyncio.gather(*before)) <= {"PT", "AR"}
    monkeypatch.setattr(preferences, "CACHE_SECONDS", 0.0)
    assert await prefs.default_region() == "AR"  # no stale read was cached over the change
    assert len(setting_reads) >= 2


async def test_a_failed_read_reaches_every_waiter_and_the_next_request_reads_again(
    db: Database, setting_reads: list[str], tmp_path: Path
) -> None:
    dead = Database(f"sqlite:///{tmp_path / 'unmigrated.db'}")  # no web_settings table
    prefs = Preferences(dead, "BR")
    try:
        results = await asyncio.gather(
            *(prefs.default_region() for _ in range(3)), return_exceptions=True
        )
    finally:
        await dead.close()
    assert len(results) == 3 and all(isinstance(r, Exception) for r in results), results
    prefs.db = db
    assert await prefs.default_region() == "BR"
    assert len(setting_reads) == 1
