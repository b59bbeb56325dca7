"""``gatewayd run``: the daemon, optionally with the web UI in-process and simulated modems
(only when asked with ``--simulate N``).

Before anything is created, it locks the data folder (one ``gatewayd run`` per folder) and,
with ``--web``, checks that the listen addresses (web, and SMPP when set) are free: a second
start is one line, and leaves the first one's database, simulated modems and wake-up socket
alone."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from gatewayd.bus import Bus, create_bus
from gatewayd.config import Settings
from gatewayd.config.command_line import (
    CliError,
    add_config_argument,
    add_parser,
    settings_from_args,
)
from gatewayd.config.listen_check import check_listen_address
from gatewayd.config.secret_key import with_secret_key
from gatewayd.logging_setup import configure_logging
from gatewayd.service.daemon import Gateway
from gatewayd.service.data_lock import DataDirInUse, DataDirLock, shown
from gatewayd.service.embedded_web import RunningWeb, find_web_starter
from gatewayd.service.lease import HostNameInUse
from gatewayd.service.runtime import (
    SchemaNotReady,
    open_database,
    start_simulated_modems,
    with_modems,
)
from gatewayd.service.systemd import Notifier
from gatewayd.store import Database, DatabaseUnavailable

if TYPE_CHECKING:
    from gatewayd.simulator import SimNetwork

log = structlog.get_logger(__name__)


def register(subparsers: Any) -> None:
    parser = add_parser(subparsers, "run", "run the gateway daemon (until SIGTERM or Ctrl-C)")
    add_config_argument(parser)
    parser.add_argument(
        "--web",
        action="store_true",
        help="also serve the web UI and API in this process (and the SMPP server when "
        "SMSGW_SMPP_LISTEN or [smpp] listen is set)",
    )
    parser.add_argument(
        "--simulate",
        type=int,
        metavar="N",
        default=None,
        help="add N in-process simulated modems (only when asked: with no enabled modem and "
        "no --simulate, gatewayd runs idle and sends nothing)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.simulate is not None and not 0 <= args.simulate <= 256:
        raise CliError("--simulate takes a number of modems from 0 to 256")
    lock = _lock_data_dir(settings.gateway.data_dir)
    try:
        if args.web:
            check_listen_address(settings.web.listen)
            if settings.smpp.listen is not None:
                check_listen_address(settings.smpp.listen, "SMSGW_SMPP_LISTEN")
            if settings.smpp.tls_listen is not None:
                check_listen_address(settings.smpp.tls_listen, "SMSGW_SMPP_TLS_LISTEN")
        configure_logging(settings.log.file, settings.log.level)
        return asyncio.run(_run(settings, args))
    except DatabaseUnavailable as exc:
        raise CliError(str(exc)) from None
    except SchemaNotReady as exc:
        raise CliError(f"{exc}: run 'gatewayd migrate' first") from None
    except HostNameInUse as exc:
        raise CliError(str(exc)) from None
    finally:
        lock.release()


def _lock_data_dir(data_dir: Path) -> DataDirLock:
    """The data folder's lock, taken before anything in it is touched."""
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except DataDirInUse as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot lock the data folder {shown(data_dir)}: {exc.strerror}") from None
    return lock


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    settings = with_secret_key(settings, create=args.web)
    simulate = args.simulate
    # A transaction of this host cut off from the database holds its rows no longer than
    # half a lease: the host taking its work over does not wait for them much longer.
    lease = settings.gateway.lease
    db = await open_database(settings, create=True, idle_in_transaction_timeout=lease.expiry / 2)
    bus = create_bus(settings.redis_url)
    network: SimNetwork | None = None
    web_runner: RunningWeb | None = None
    try:
        if simulate:
            network, handles, simulated = await start_simulated_modems(settings, simulate)
            settings = with_modems(settings, simulated)
            for handle, modem in zip(handles, simulated, strict=True):
                print(f"simulated modem {modem.name}: {handle.number} on {handle.device}")
        gateway = Gateway(settings, db, bus, notifier=Notifier())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, gateway.stop)
        if args.web:
            web_runner = await _start_web(settings, db, bus)
        if gateway.workers:
            print(f"gatewayd running with {len(gateway.workers)} modems; stop with Ctrl-C")
        else:
            print(
                "gatewayd running idle: no enabled modem, nothing is sent (enable a [[modem]] "
                "in the settings, or use --simulate N); stop with Ctrl-C"
            )
        sys.stdout.flush()
        await gateway.run()
    finally:
        if web_runner is not None:
            await web_runner.cleanup()
        if network is not None:
            await network.close()
        await bus.close()
        await db.close()
    return 0


async def _start_web(settings: Settings, db: Database, bus: Bus) -> RunningWeb | None:
    starter = find_web_starter()
    if starter is None:
        print("the web UI is not available in this installation", file=sys.stderr)
        return None
    return await starter(settings, db, bus)
