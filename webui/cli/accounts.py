"""``webui create-smpp-account``, ``list-smpp-accounts`` and ``revoke-smpp-account``: the SMPP
credentials of client accounts, and their limits.

The SMPP password is the first line of standard input (or typed at a prompt on a terminal):
SMPP 3.4 carries at most 8 characters, so a longer one is refused rather than cut. Changes go
through :class:`~webui.services.account_admin.AccountAdmin` (checked and audited as ``cli``,
announced to running web processes over Redis).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from gatewayd.bus import create_bus
from gatewayd.config import Settings
from gatewayd.config.command_line import CliError, add_config_argument, add_parser
from gatewayd.store import Database
from webui.addresses import AddressPolicy
from webui.auth.passwords import UNLIMITED
from webui.auth.throttle import ThrottlePolicy
from webui.cli.common import prepare, run_with_database
from webui.services.account_admin import AccountAdmin
from webui.services.accounts import Account, Accounts
from webui.services.caller import Caller
from webui.services.errors import ServiceError
from webui.services.throughput import LocalBuckets

CLI = Caller("cli", None)


def register(subparsers: Any) -> None:
    parser = add_parser(
        subparsers,
        "create-smpp-account",
        "create a client account with SMPP credentials (password from standard input, "
        "at most 8 characters)",
    )
    parser.add_argument("system_id", metavar="SYSTEM_ID", help="the SMPP system_id (≤ 15)")
    parser.add_argument("--name", help="the account's name (default: the system_id)")
    parser.add_argument(
        "--tps", type=float, metavar="N", help="messages per second at most (default: unlimited)"
    )
    parser.add_argument("--daily-quota", type=int, metavar="N", help="messages per UTC day")
    parser.add_argument("--monthly-quota", type=int, metavar="N", help="messages per UTC month")
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="CIDR",
        help="a network clients may bind from (repeat; default: any)",
    )
    parser.add_argument(
        "--modem",
        action="append",
        default=[],
        metavar="NAME",
        help="a modem its messages may leave by (repeat; default: any)",
    )
    parser.add_argument(
        "--receive-from",
        action="append",
        default=[],
        metavar="MODEM",
        help="a modem whose incoming SMS go to its receivers (repeat; default: none)",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run_create_smpp_account)

    parser = add_parser(
        subparsers, "list-smpp-accounts", "list accounts with SMPP credentials and their limits"
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run_list_smpp_accounts)

    parser = add_parser(
        subparsers,
        "revoke-smpp-account",
        "revoke the account with this system_id (its binds and API keys stop working)",
    )
    parser.add_argument("system_id", metavar="SYSTEM_ID")
    add_config_argument(parser)
    parser.set_defaults(handler=run_revoke_smpp_account)


def admin_for(db: Database, settings: Settings) -> AccountAdmin:
    accounts = Accounts(db, UNLIMITED, ThrottlePolicy(), LocalBuckets())
    policy = AddressPolicy.parse(settings.web.webhook_allow)
    return AccountAdmin(db, create_bus(settings.redis_url), accounts, policy)


def read_smpp_password() -> str:
    """The first line of standard input, or typed at a prompt on a terminal."""
    if sys.stdin.isatty():
        password = getpass.getpass("SMPP password (at most 8 characters): ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("no SMPP password given on standard input")
    return password


def run_create_smpp_account(args: argparse.Namespace) -> int:
    settings = prepare(args)
    password = read_smpp_password()
    fields: dict[str, Any] = {
        "name": args.name or args.system_id,
        "system_id": args.system_id,
        "smpp_password": password,
        "tps": args.tps,
        "daily_quota": args.daily_quota,
        "monthly_quota": args.monthly_quota,
        "allowed_networks": args.allow,
        "allowed_modems": args.modem,
        "incoming_modems": args.receive_from,
    }

    async def work(db: Database) -> Account:
        admin = admin_for(db, settings)
        try:
            return (await admin.create(CLI, fields)).account
        except ServiceError as exc:
            if exc.field == "name" and args.name is None:
                raise CliError(f"{exc.message}; name the account with --name") from None
            raise
        finally:
            await admin.bus.close()

    account = _run(settings, work)
    print(
        f"account {account.id} {account.name!r} created with SMPP system_id {account.system_id}"
        f", {_limits(account)}"
    )
    return 0


def run_list_smpp_accounts(args: argparse.Namespace) -> int:
    settings = prepare(args)

    async def work(db: Database) -> list[Account]:
        return [a for a in await admin_for(db, settings).list() if a.system_id is not None]

    found = _run(settings, work)
    table = [("ID", "NAME", "SYSTEM_ID", "TPS", "DAILY", "MONTHLY", "NETWORKS", "MODEMS", "STATE")]
    for account in found:
        table.append(
            (
                str(account.id),
                account.name,
                account.system_id or "",
                _figure(account.tps),
                _figure(account.daily_quota),
                _figure(account.monthly_quota),
                ",".join(str(n) for n in account.allowed_networks) or "any",
                ",".join(account.allowed_modems) or "any",
                "revoked" if account.revoked else "active",
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print("  ".join(cells).rstrip())
    if not found:
        print("(no SMPP accounts yet: create one with `webui create-smpp-account SYSTEM_ID`)")
    return 0


def run_revoke_smpp_account(args: argparse.Namespace) -> int:
    settings = prepare(args)

    async def work(db: Database) -> Account:
        admin = admin_for(db, settings)
        try:
            account = await admin.find(system_id=args.system_id)
            return await admin.revoke(CLI, account.id)
        finally:
            await admin.bus.close()

    account = _run(settings, work)
    print(f"account {account.id} {account.name!r} (system_id {account.system_id}) revoked")
    return 0


def _run(settings: Settings, work: Any) -> Any:
    try:
        return run_with_database(settings, work)
    except ServiceError as exc:
        raise CliError(exc.message) from None


def _figure(value: float | int | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _limits(account: Account) -> str:
    parts = [
        f"{_figure(account.tps)} messages/s" if account.tps is not None else "no rate limit",
        f"daily quota {account.daily_quota}" if account.daily_quota is not None else "",
        f"monthly quota {account.monthly_quota}" if account.monthly_quota is not None else "",
    ]
    return ", ".join(p for p in parts if p)
