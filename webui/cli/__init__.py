"""The ``webui`` command line: ``run``, ``smpp``, ``smtp``, users, API keys, SMPP accounts and
``security-check``.

Each subcommand module exposes ``register(subparsers)`` and sets ``handler``; only the module of
the command being run is imported (:func:`gatewayd.config.command_line.add_subcommands`), so
:data:`SUBCOMMANDS` names each command and its help too (a unit test keeps the two the same).
User mistakes raise :class:`gatewayd.config.command_line.CliError`, printed as one line (never
a traceback).
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

USERS = "webui.cli.users"
API_KEYS = "webui.cli.apikeys"
ACCOUNTS = "webui.cli.accounts"
SUBCOMMANDS = (
    Subcommand("run", "webui.cli.run", "serve the web UI and the HTTP API"),
    Subcommand(
        "smpp",
        "webui.cli.smpp",
        "serve the SMPP 3.4 server on [smpp] listen / SMSGW_SMPP_LISTEN (and tls_listen) "
        "until SIGTERM or Ctrl-C",
    ),
    Subcommand(
        "smtp",
        "webui.cli.smtp",
        "serve the email-to-SMS server on [smtp] listen / SMSGW_SMTP_LISTEN until SIGTERM or "
        "Ctrl-C",
    ),
    Subcommand("create-user", USERS, "create a web UI user"),
    Subcommand("list-users", USERS, "list users, roles, last login, locked state"),
    Subcommand("set-password", USERS, "set a user's password (and unlock them)"),
    Subcommand(
        "unlock-user", USERS, "lift a user's lock and forget failed sign-ins with their name"
    ),
    Subcommand(
        "reset-2fa", USERS, "turn off a user's two-factor sign-in (lost phone); ends their sessions"
    ),
    Subcommand("create-api-key", API_KEYS, "create an API key (printed once)"),
    Subcommand("list-api-keys", API_KEYS, "list API keys (never the secrets)"),
    Subcommand("revoke-api-key", API_KEYS, "revoke an API key at once"),
    Subcommand(
        "create-smpp-account",
        ACCOUNTS,
        "create a client account with SMPP credentials (password from standard input, "
        "at most 8 characters)",
    ),
    Subcommand(
        "list-smpp-accounts", ACCOUNTS, "list accounts with SMPP credentials and their limits"
    ),
    Subcommand(
        "revoke-smpp-account",
        ACCOUNTS,
        "revoke the account with this system_id (its binds and API keys stop working)",
    ),
    Subcommand(
        "security-check", "webui.cli.security_check", "audit the deployment's security settings"
    ),
)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser for ``argv``: every command listed, the one ``argv`` names complete."""
    parser = argparse.ArgumentParser(
        prog="webui",
        description="SMS gateway web UI and API: serve it (and the SMPP and email-to-SMS "
        "servers), manage users, API keys and client accounts, audit the deployment.",
    )
    parser.add_argument("--version", action="version", version=f"webui {__version__}")
    add_subcommands(parser, SUBCOMMANDS, argv)
    return parser


def console_main() -> int:
    """The installed ``webui`` command: :func:`main` on the process's arguments, without the
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
        print(f"webui {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
