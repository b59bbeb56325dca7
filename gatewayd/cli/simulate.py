"""``gatewayd simulate``: standalone simulated modems on ptys, with an optional control API.

Prints one JSON line per modem (``device``, ``number``, ``imei``, ``imsi``) as soon as the
devices exist, then runs until SIGTERM or SIGINT, removes its symlinks and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from gatewayd.config.command_line import CliError, add_parser
from gatewayd.simulator import DEFAULT_FIRST_NUMBER, SimNetwork, start_control_server
from gatewayd.simulator.identity import E164_PATTERN
from gatewayd.simulator.profiles import PROFILES

MAX_MODEMS = 1024


def register(subparsers: Any) -> None:
    parser = add_parser(subparsers, "simulate", "run simulated GSM modems on ptys (SPEC 3.3)")
    parser.add_argument("--modems", type=int, required=True, metavar="N", help="how many modems")
    parser.add_argument("--dir", required=True, metavar="DIR", help="where DIR/modem{i} appear")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="time from the PDU to the +CMGS answer (default 0)",
    )
    parser.add_argument(
        "--report-delay-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="time from the +CMGS answer to the status report (default 0)",
    )
    parser.add_argument(
        "--first-number",
        default=DEFAULT_FIRST_NUMBER,
        metavar="E164",
        help=f"number of modem0; the others count up (default {DEFAULT_FIRST_NUMBER})",
    )
    parser.add_argument("--ledger", metavar="FILE", help="append one JSON line per accepted part")
    parser.add_argument(
        "--profile",
        default="generic",
        metavar="NAME[,NAME...]",
        help=f"modem dialect ({', '.join(PROFILES)}); a list is given to the modems in turn",
    )
    parser.add_argument("--control", metavar="HOST:PORT", help="serve the HTTP control API")
    parser.set_defaults(handler=run_simulate)


def parse_host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise CliError(f"--control must be HOST:PORT, not {value!r}")
    return host.strip("[]"), int(port)


def _check(args: argparse.Namespace) -> tuple[str, int] | None:
    if not 1 <= args.modems <= MAX_MODEMS:
        raise CliError(f"--modems must be from 1 to {MAX_MODEMS}")
    if args.latency_ms < 0 or args.report_delay_ms < 0:
        raise CliError("--latency-ms and --report-delay-ms must not be negative")
    if not E164_PATTERN.match(args.first_number):
        raise CliError("--first-number must be an E.164 number like +5511990000001")
    last = int(args.first_number[1:]) + args.modems - 1
    if len(str(last)) != len(args.first_number) - 1:
        raise CliError("--first-number leaves no room to count up for every modem")
    directory = Path(args.dir)
    if directory.exists() and not directory.is_dir():
        raise CliError(f"--dir {args.dir} exists and is not a directory")
    unknown = [name for name in args.profile.split(",") if name.lower() not in PROFILES]
    if unknown:
        raise CliError(f"--profile {unknown[0]!r} is unknown; choose {', '.join(PROFILES)}")
    return parse_host_port(args.control) if args.control else None


async def _serve(args: argparse.Namespace, control: tuple[str, int] | None) -> None:
    network = SimNetwork(
        first_number=args.first_number,
        latency_ms=args.latency_ms,
        report_delay_ms=args.report_delay_ms,
        ledger_path=args.ledger,
        profile=args.profile.split(","),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = None
    try:
        handles = await network.start(args.modems, args.dir)
        if control is not None:
            try:
                runner = await start_control_server(network, *control)
            except OSError as error:
                raise CliError(f"cannot serve --control {args.control}: {error.strerror}") from None
        for handle in handles:
            sys.stdout.write(json.dumps(handle.to_json()) + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await network.close()


def run_simulate(args: argparse.Namespace) -> int:
    control = _check(args)
    try:
        asyncio.run(_serve(args, control))
    except PermissionError as error:
        raise CliError(f"cannot create devices in {args.dir}: {error.strerror}") from None
    return 0
