"""What every subcommand shares: the user-error exception, small argument helpers, and the
quiet end of a command whose reader went away (``| head``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
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


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The settings named by ``--config`` (else ``$SMSGW_CONFIG``); mistakes become CliError."""
    try:
        return load_settings(getattr(args, "config", None))
    except SettingsError as exc:
        raise CliError(str(exc)) from None


BROKEN_PIPE_EXIT = 141
"""What a shell reports for a program ended by SIGPIPE (128 + 13), as ``head`` leaves ``cat``."""


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
