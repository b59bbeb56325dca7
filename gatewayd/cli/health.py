"""``gatewayd health``: is the daemon of this data folder alive? It reads the heartbeat file the
daemon's watchdog touches (:mod:`gatewayd.service.heartbeat`): exit 0 when it is fresh, 1 when
it is missing or older than ``--max-age``. The container health check of ``gatewayd run``."""

from __future__ import annotations

import argparse
from typing import Any

from gatewayd.config.command_line import (
    CliError,
    add_config_argument,
    add_parser,
    settings_from_args,
)
from gatewayd.service import heartbeat


def register(subparsers: Any) -> None:
    parser = add_parser(
        subparsers, "health", "check that the gatewayd of this data folder is alive (heartbeat)"
    )
    add_config_argument(parser)
    parser.add_argument(
        "--max-age",
        type=float,
        default=heartbeat.MAX_AGE,
        metavar="SECONDS",
        help=f"oldest heartbeat that counts as alive (default {heartbeat.MAX_AGE:.0f})",
    )
    parser.set_defaults(handler=run_health)


def run_health(args: argparse.Namespace) -> int:
    if not args.max_age > 0:
        raise CliError("--max-age must be a number of seconds above 0", exit_code=2)
    settings = settings_from_args(args)
    path = heartbeat.heartbeat_path(settings.gateway.data_dir)
    age = heartbeat.age(path)
    if age is None:
        raise CliError(f"no heartbeat at {path}: gatewayd is not running with this data folder")
    if age > args.max_age:
        raise CliError(
            f"last heartbeat {age:.0f}s ago (limit {args.max_age:.0f}s): gatewayd is stuck "
            "or stopped"
        )
    print(f"gatewayd alive: last heartbeat {age:.1f}s ago ({path})")
    return 0
