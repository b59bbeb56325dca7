"""The ``gatewayd`` command line: one subcommand module each, registered here.

A subcommand module exposes ``register(subparsers)`` which adds its parser and sets ``handler``
to a function taking the parsed arguments and returning an exit code. User mistakes raise
:class:`CliError`, which becomes a one-line message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from gatewayd import __version__
from gatewayd.config.command_line import CliError, quiet_on_broken_pipe

SUBCOMMAND_MODULES = (
    "gatewayd.cli.run",
    "gatewayd.cli.migrate",
    "gatewayd.cli.simulate",
    "gatewayd.cli.pdu",
    "gatewayd.cli.modems",
    "gatewayd.cli.send",
    "gatewayd.cli.show",
    "gatewayd.cli.health",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatewayd",
        description="SMS gateway daemon and tools: modems, queue, PDU codec, simulated modems.",
    )
    parser.add_argument("--version", action="version", version=f"gatewayd {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # subcommand not present in this build
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return quiet_on_broken_pipe(lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
