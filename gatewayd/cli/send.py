"""``gatewayd send``: queue one message from the shell and print its id."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from gatewayd.bus import create_bus
from gatewayd.config import Settings
from gatewayd.config.command_line import (
    CliError,
    add_config_argument,
    add_parser,
    settings_from_args,
)
from gatewayd.events import WAKE, WakeUp
from gatewayd.logging_setup import configure_logging
from gatewayd.queue import InvalidMessage, NewMessage, enqueue, prepare
from gatewayd.service.runtime import DatabaseMissing, SchemaNotReady, open_database
from gatewayd.service.wakeup import send_local_wakeup
from gatewayd.store import DatabaseUnavailable


def register(subparsers: Any) -> None:
    parser = add_parser(subparsers, "send", "queue one SMS and print its id")
    parser.add_argument("--to", required=True, metavar="NUMBER", help="recipient, e.g. +5511…")
    parser.add_argument("--text", required=True, help="message text")
    parser.add_argument("--modem", help="send through this modem only")
    parser.add_argument("--priority", type=int, default=0, help="higher goes first (-100…100)")
    parser.add_argument(
        "--no-report", action="store_true", help="do not ask the network for a delivery report"
    )
    add_config_argument(parser)
    parser.set_defaults(handler=send)


def send(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    configure_logging(settings.log.file, "WARNING")
    new = NewMessage(
        to=args.to,
        text=args.text,
        modem=args.modem,
        priority=args.priority,
        status_report=not args.no_report,
    )
    try:
        prepared = prepare(
            new,
            default_region=settings.gateway.default_region,
            known_modems=[m.name for m in settings.modems] if settings.modems else None,
        )
        message_id = asyncio.run(_enqueue(settings, prepared))
    except InvalidMessage as exc:
        raise CliError(f"{exc.field or 'message'}: {exc}") from None
    except (DatabaseUnavailable, DatabaseMissing, SchemaNotReady) as exc:
        raise CliError(str(exc)) from None
    print(message_id)
    return 0


async def _enqueue(settings: Settings, prepared: Any) -> int:
    db = await open_database(settings)
    try:
        async with db.begin() as conn:
            ids, _ = await enqueue(conn, [prepared], created_by="cli")
    finally:
        await db.close()
    send_local_wakeup(settings.gateway.data_dir)
    if settings.redis_url:
        bus = create_bus(settings.redis_url)
        try:
            await bus.publish(WAKE, WakeUp.queued(1, [prepared.request.modem]))
        finally:
            await bus.close()
    return ids[0]
