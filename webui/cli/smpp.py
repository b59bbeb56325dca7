"""``webui smpp``: serve the SMPP server on its own (the schema must be current).

It listens on ``[smpp] listen`` (``SMSGW_SMPP_LISTEN``) and, with a certificate,
``[smpp] tls_listen``; with neither set it stops at once with one line. It runs until SIGTERM
or Ctrl-C, then unbinds every client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

import structlog

from gatewayd.bus import create_bus
from gatewayd.config import ListenAddress, Settings
from gatewayd.config.command_line import CliError, add_config_argument, add_parser
from gatewayd.store import DatabaseUnavailable
from webui.cli.common import open_checked_database, prepare
from webui.smpp.runtime import settle_garbage_collector, start_smpp
from webui.smpp.server import TlsError

log = structlog.get_logger("webui.cli")


def register(subparsers: Any) -> None:
    parser = add_parser(
        subparsers,
        "smpp",
        "serve the SMPP 3.4 server on [smpp] listen / SMSGW_SMPP_LISTEN (and tls_listen) "
        "until SIGTERM or Ctrl-C",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run_smpp)


def run_smpp(args: argparse.Namespace) -> int:
    settings = prepare(args)
    if not settings.smpp.enabled:
        raise CliError(
            "the SMPP server is off: set SMSGW_SMPP_LISTEN (e.g. 0.0.0.0:2775) or [smpp] listen"
        )
    try:
        asyncio.run(_serve(settings))
    except DatabaseUnavailable as exc:
        raise CliError(str(exc)) from None
    except TlsError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot listen on {_addresses(settings)}: {exc.strerror or exc}") from None
    return 0


def _addresses(settings: Settings) -> str:
    found: list[ListenAddress] = [
        a for a in (settings.smpp.listen, settings.smpp.tls_listen) if a is not None
    ]
    return " and ".join(str(a) for a in found)


async def _serve(settings: Settings) -> None:
    db = await open_checked_database(settings)
    bus = create_bus(settings.redis_url)
    try:
        running = await start_smpp(settings, db, bus)
        settle_garbage_collector()
        print(f"SMPP server on {_addresses(settings)}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            log.info("SMPP server stopping")
            await running.stop()
    finally:
        await bus.close()
        await db.close()
