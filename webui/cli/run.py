"""``webui run``: serve the web UI and API (the schema must be current; a secret key is
required)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

import structlog

from gatewayd.config import Settings
from gatewayd.config.command_line import CliError, add_config_argument, add_parser
from gatewayd.config.listen_check import check_listen_address
from gatewayd.store import DatabaseUnavailable
from webui.app import create_app
from webui.cli.common import open_checked_database, prepare
from webui.cli.security_check import check_secret_key
from webui.options import OptionsError, options_from_settings
from webui.server import start

log = structlog.get_logger("webui.cli")


def register(subparsers: Any) -> None:
    parser = add_parser(subparsers, "run", "serve the web UI and the HTTP API")
    add_config_argument(parser)
    parser.set_defaults(handler=run_web)


def run_web(args: argparse.Namespace) -> int:
    settings = prepare(args)
    try:
        options = options_from_settings(settings)
    except OptionsError as exc:
        raise CliError(str(exc)) from None
    try:
        asyncio.run(_serve(settings, options))
    except DatabaseUnavailable as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot listen on {settings.web.listen}: {exc.strerror or exc}") from None
    return 0


async def _serve(settings: Settings, options: Any) -> None:
    if check_secret_key(settings.web.secret_key):
        log.warning("Weak secret key", hint="run `webui security-check`")
    db = await open_checked_database(settings)
    await db.close()
    check_listen_address(settings.web.listen)
    app = create_app(settings, options=options)
    runner = await start(app, settings.web.listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("Web UI stopping")
        await runner.cleanup()
