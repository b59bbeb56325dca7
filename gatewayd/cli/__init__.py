"""The ``gatewayd`` command line: one subcommand module each, listed here.

A subcommand module exposes ``register(subparsers)`` which adds its parser and sets ``handler``
to a function taking the parsed arguments and returning an exit code; only the module of the
command being run is imported (:func:`gatewayd.config.command_line.add_subcommands`), so the
name and help of each command are written in :data:`SUBCOMMANDS` too (a unit test keeps the
two the same). User mistakes raise :class:`CliError`, which becomes a one-line message and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gatewayd import __version__
from gatewayd.config.command_line import (
    CliError,
    Subcommand,
    add_subcommands,
    keep_out_dev_only_packages,
    quiet_on_broken_pipe,
)

SUBCOMMANDS = (
    Subcommand("run", "gatewayd.cli.run", "run the gateway daemon (until SIGTERM or Ctrl-C)"),
    Subcommand("migrate", "gatewayd.cli.migrate", "create or upgrade the database schema"),
    Subcommand("simulate", "gatewayd.cli.simulate", "run simulated GSM modems on ptys (SPEC 3.3)"),
    Subcommand("pdu", "gatewayd.cli.pdu", "decode or encode SMS PDUs (JSON out)"),
    Subcommand(
        "modems",
        "gatewayd.cli.modems",
        "probe the configured modems: manufacturer, model, IMEI, IMSI, signal, operator",
    ),
    Subcommand("send", "gatewayd.cli.send", "queue one SMS and print its id"),
    Subcommand("show", "gatewayd.cli.show", "print one message as JSON"),
    Subcommand(
        "health",
        "gatewayd.cli.health",
        "check that the gatewayd of this data folder is alive (heartbeat)",
    ),
)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser for ``argv``: every command listed, the one ``argv`` names complete."""
    parser = argparse.ArgumentParser(
        prog="gatewayd",
        description="SMS gateway daemon and tools: modems, queue, PDU codec, simulated modems.",
    )
    parser.add_argument("--version", action="version", version=f"gatewayd {__version__}")
    add_subcommands(parser, SUBCOMMANDS, argv)
    return parser


def console_main() -> int:
    """The installed ``gatewayd`` command: :func:`main` on the process's arguments, without the
    development-only packages (:func:`~gatewayd.config.command_line.keep_out_dev_only_packages`)."""
    keep_out_dev_only_packages()
    return main()


def main(argv: Sequence[str] | None = None) -> int:
    return quiet_on_broken_pipe(lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(arguments).parse_args(arguments)
    try:
        code: int = args.handler(args)
    except CliError as exc:
        print(f"gatewayd {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
