"""``gatewayd show ID``: one message as JSON, the object ``GET /api/v1/messages/{id}`` gives."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from gatewayd.config import Settings
from gatewayd.config.command_line import (
    CliError,
    add_config_argument,
    add_parser,
    settings_from_args,
)
from gatewayd.logging_setup import configure_logging
from gatewayd.queue.view import load_message
from gatewayd.service.runtime import DatabaseMissing, SchemaNotReady, open_database
from gatewayd.store import DatabaseUnavailable


def register(subparsers: Any) -> None:
    parser = add_parser(subparsers, "show", "print one message as JSON")
    parser.add_argument("id", type=int, help="message id (as printed by gatewayd send)")
    parser.add_argument("--timeline", action="store_true", help="include the status timeline")
    add_config_argument(parser)
    parser.set_defaults(handler=show)


def show(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    configure_logging(settings.log.file, "WARNING")
    try:
        message = asyncio.run(_load(settings, args.id, args.timeline))
    except (DatabaseUnavailable, DatabaseMissing, SchemaNotReady) as exc:
        raise CliError(str(exc)) from None
    if message is None:
        raise CliError(f"no message with id {args.id}")
    print(json.dumps(message, ensure_ascii=False, indent=2))
    return 0


async def _load(settings: Settings, message_id: int, timeline: bool) -> dict[str, Any] | None:
    db = await open_database(settings)
    try:
        async with db.read() as conn:
            return await load_message(conn, message_id, with_timeline=timeline)
    finally:
        await db.close()
