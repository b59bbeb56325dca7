"""``webui smtp``: serve the email-to-SMS server on its own (the schema must be current).

It listens on ``[smtp] listen`` (``SMSGW_SMTP_LISTEN``); unset, it stops at once with one line.
It runs until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

import structlog

from gatewayd.bus import create_bus
from gatewayd.config import Settings
from gatewayd.config.command_line import CliError, add_config_argument, add_parser
from gatewayd.store import DatabaseUnavailable
from webui.cli.common import open_checked_database, prepare
from webui.smtp.runtime import start_smtp
from webui.smtp.server import TlsError

log = structlog.get_logger("webui.cli")


def register(subparsers: Any) -> None:
    parser = add_parser(
        subparsers,
        "smtp",
        "serve the email-to-SMS server on [smtp] listen / SMSGW_SMTP_LISTEN until SIGTERM or "
        "Ctrl-C",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run_smtp)


def run_smtp(args: argparse.Namespace) -> int:
    settings = prepare(args)
    if settings.smtp.listen is None:
        raise CliError(
            "the email-to-SMS server is off: set SMSGW_SMTP_LISTEN (e.g. 0.0.0.0:2525) or "
            "[smtp] listen"
        )
    try:
        asyncio.run(_serve(settings))
    except DatabaseUnavailable as exc:
        raise CliError(str(exc)) from None
    except TlsError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(
            f"cannot listen on {settings.smtp.listen}: {exc.strerror or exc}: set SMSGW_SMTP_LISTEN"
        ) from None
    return 0


async def _serve(settings: Settings) -> None:
    db = await open_checked_database(settings)
    bus = create_bus(settings.redis_url)
    try:
        running = await start_smtp(settings, db, bus)
        print(f"email to SMS on {settings.smtp.listen}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            log.info("SMTP server stopping")
            await running.stop()
    finally:
        await bus.close()
        await db.close()
