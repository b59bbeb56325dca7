"""What the ``webui`` subcommands share: settings, a checked database, one-line failures."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gatewayd.bus import Bus, create_bus
from gatewayd.config import Settings
from gatewayd.config.command_line import CliError, settings_from_args
from gatewayd.logging_setup import configure_logging
from gatewayd.service.runtime import DatabaseMissing, require_existing_database
from gatewayd.store import Database, DatabaseUnavailable
from gatewayd.store import migrate as migrations

T = TypeVar("T")


def prepare(args: argparse.Namespace) -> Settings:
    """Settings from ``--config`` and logging configured once for the command."""
    settings = settings_from_args(args)
    configure_logging(settings.log.file, settings.log.level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return settings


async def open_checked_database(settings: Settings) -> Database:
    """The database, refused with one line unless it exists and its schema is current."""
    try:
        require_existing_database(settings)
    except DatabaseMissing as exc:
        raise CliError(str(exc)) from None
    db = Database.from_settings(settings.database)
    try:
        await migrations.require_current_schema(db)
    except migrations.SchemaOutdated as exc:
        await db.close()
        raise CliError(str(exc)) from None
    except BaseException:
        await db.close()
        raise
    return db


def run_with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database, run ``work`` on it, close it; a dead database is one line."""

    async def main() -> T:
        db = await open_checked_database(settings)
        try:
            return await work(db)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except DatabaseUnavailable as exc:
        raise CliError(str(exc)) from None


async def tell_web_processes(
    settings: Settings, announce: Callable[[Bus, int], Awaitable[None]], ident: int
) -> None:
    """Announce an ended session or a revoked key to the running web processes over Redis.
    Without Redis there is no one to tell from here: their periodic checks see it."""
    if not settings.redis_url:
        return
    bus = create_bus(settings.redis_url)
    try:
        await announce(bus, ident)
    finally:
        await bus.close()
