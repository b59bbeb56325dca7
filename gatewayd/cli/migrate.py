"""``gatewayd migrate``: create or upgrade the database schema (PostgreSQL or SQLite)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

import structlog

from gatewayd.config import Settings
from gatewayd.config.command_line import (
    CliError,
    add_config_argument,
    add_parser,
    settings_from_args,
)
from gatewayd.logging_setup import configure_logging
from gatewayd.store import Database, DatabaseUnavailable
from gatewayd.store import migrate as migrations

log = structlog.get_logger(__name__)


def register(subparsers: Any) -> None:
    parser = add_parser(subparsers, "migrate", "create or upgrade the database schema")
    add_config_argument(parser)
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 0 when the schema is current, 1 when it needs migrating",
    )
    parser.set_defaults(handler=run_migrate)


def run_migrate(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    configure_logging(settings.log.file, settings.log.level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return asyncio.run(_check(settings) if args.check else _upgrade(settings))
    except DatabaseUnavailable as exc:
        raise CliError(str(exc)) from None


async def _upgrade(settings: Settings) -> int:
    db = Database.from_settings(settings.database)
    try:
        result = await migrations.upgrade(db)
    finally:
        await db.close()
    where = settings.database.display
    log.info("Schema migrated", database=where, before=result.before, after=result.after)
    if result.before is None:
        print(f"{where}: schema created at revision {result.after}")
    elif result.changed:
        print(f"{where}: schema upgraded from revision {result.before} to {result.after}")
    else:
        print(f"{where}: schema already at revision {result.after}")
    return 0


async def _check(settings: Settings) -> int:
    db = Database.from_settings(settings.database)
    path = db.sqlite_path
    if path is not None and path.name not in ("", ":memory:") and not path.exists():
        # Opening it would create an empty file: a check changes nothing.
        await db.close()
        raise CliError(f"{db.description} has no gateway schema yet: run `gatewayd migrate`")
    try:
        await migrations.require_current_schema(db)
    except migrations.SchemaOutdated as exc:
        raise CliError(str(exc)) from None
    finally:
        await db.close()
    print(f"{settings.database.display}: schema is current ({migrations.head_revision()})")
    return 0
