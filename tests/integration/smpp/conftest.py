"""Fixtures for the SMPP server's integration tests: a server on a loopback port against a
fresh database (PostgreSQL and SQLite), and accounts to bind with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.config import Settings, load_settings
from gatewayd.store import Database
from tests.integration.web.conftest import log_capture
from tests.support.smpp import Server, SmppClient, add_smpp_account, smpp_server, with_smpp

__all__ = ["account", "client", "log_capture", "server"]

PASSWORD = "secret1"


def base_settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        None, env={"SMSGW_DATABASE_URL": db_url, "SMSGW_DATA_DIR": str(tmp_path / "data")}
    )


@pytest.fixture
async def server(db: Database, db_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    async with smpp_server(with_smpp(base_settings(db_url, tmp_path)), db) as running:
        yield running


@pytest.fixture
async def account(db: Database) -> int:
    return await add_smpp_account(db, "erp", PASSWORD)


@pytest.fixture
async def client(server: Server, account: int) -> AsyncIterator[SmppClient]:
    """A transceiver bound as ``erp``."""
    async with await SmppClient.connect(server.port) as bound:
        answer = await bound.bind("erp", PASSWORD)
        assert answer.command_status == 0, answer
        yield bound
