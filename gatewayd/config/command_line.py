"""What every subcommand shares: the user-error exception, small argument helpers, the
subcommand table that imports only the command being run, and the quiet end of a command whose
reader went away (``| head``)."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gatewayd.config import Settings, SettingsError, load_settings


class CliError(Exception):
    """A user mistake or an unmet precondition: printed as one line, exit code non-zero."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


SubParsers = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="settings file (TOML); default: $SMSGW_CONFIG, else built-in defaults",
    )


def add_parser(subparsers: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help_text, description=help_text
    )
    return parser


@dataclass(frozen=True)
class Subcommand:
    """A subcommand as the top-level ``--help`` lists it, and the module whose
    ``register(subparsers)`` adds its whole parser and sets ``handler``."""

    name: str
    module: str
    help: str


def add_subcommands(
    parser: argparse.ArgumentParser, subcommands: Sequence[Subcommand], argv: Sequence[str]
) -> None:
    """Add ``subcommands`` to ``parser``, importing only the module of the one ``argv`` names.

    The others get a parser with their name and help only: enough for the top-level ``--help``
    and argparse's "invalid choice" message. A command imports only what it runs: with every
    module imported, ``gatewayd pdu`` or ``webui create-user`` also loaded the daemon or the
    whole web app (about a second of start-up). A module that is not installed leaves its
    commands out, as if they did not exist in this build.
    """
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    chosen_module = next((c.module for c in subcommands if c.name == chosen), None)
    for command in subcommands:
        if command.module != chosen_module:
            if importlib.util.find_spec(command.module) is not None:
                add_parser(subparsers, command.name, command.help)
            continue
        if command.name in subparsers.choices:
            continue  # registered with an earlier command of the same module
        try:
            module = importlib.import_module(command.module)
        except ModuleNotFoundError as exc:
            if exc.name == command.module:
                continue
            raise
        module.register(subparsers)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The settings named by ``--config`` (else ``$SMSGW_CONFIG``); mistakes become CliError."""
    try:
        return load_settings(getattr(args, "config", None))
    except SettingsError as exc:
        raise CliError(str(exc)) from None


BROKEN_PIPE_EXIT = 141
"""What a shell reports for a program ended by SIGPIPE (128 + 13), as ``head`` leaves ``cat``."""


DEV_ONLY_PACKAGES = ("rich", "pygments")
"""Pretty-printers that structlog and Mako load whenever they find them installed (test and lint
tools bring them into a development environment). The commands never use them, and loading
them costs about half a second of CPU per process."""


def keep_out_dev_only_packages() -> None:
    """Make :data:`DEV_ONLY_PACKAGES` unimportable in this process, so an installed command
    starts and logs the same wherever it runs, with or without them (a production install has
    neither). Called by the installed commands only, never by code imported as a library."""
    for name in DEV_ONLY_PACKAGES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def quiet_on_broken_pipe(main: Callable[[], int]) -> int:
    """Run ``main``; when the reader of stdout has gone (``gatewayd --help | head -1``), end
    quietly like other Unix tools instead of with a ``BrokenPipeError`` traceback."""
    try:
        try:
            code = main()
        except SystemExit:  # argparse's --help, --version and usage errors
            sys.stdout.flush()
            raise
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that cannot fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return BROKEN_PIPE_EXIT
