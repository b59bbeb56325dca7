"""The ``webui`` command line: ``run``, ``smpp``, ``smtp``, users, API keys, SMPP accounts and
``security-check``.

Each subcommand module exposes ``register(subparsers)`` and sets ``handler``; user mistakes
raise :class:`gatewayd.config.command_line.CliError`, printed as one line (never a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from gatewayd import __version__
from gatewayd.config.command_line import CliError, quiet_on_broken_pipe

SUBCOMMAND_MODULES = (
    "webui.cli.run",
    "webui.cli.smpp",
    "webui.cli.smtp",
    "webui.cli.users",
    "webui.cli.apikeys",
    "webui.cli.accounts",
    "webui.cli.security_check",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webui",
        description="SMS gateway web UI and API: serve it (and the SMPP and email-to-SMS "
        "servers), manage users, API keys and client accounts, audit the deployment.",
    )
    parser.add_argument("--version", action="version", version=f"webui {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return quiet_on_broken_pipe(lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except CliError as exc:
        print(f"webui {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
