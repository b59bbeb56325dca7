"""What every subcommand shares: the user-error exception and small argument helpers."""

from __future__ import annotations

import argparse
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
