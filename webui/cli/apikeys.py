"""``webui create-api-key``, ``list-api-keys`` and ``revoke-api-key``.

``create-api-key`` prints the new key as the last line of standard output, once; only its
SHA-256 hash is stored.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.config.command_line import CliError, add_config_argument, add_parser
from gatewayd.store import Database, accounts
from webui.addresses import AddressPolicy
from webui.audit import record
from webui.auth.apikeys import (
    ApiKeyError,
    NewApiKey,
    create_api_key,
    find_key_id,
    list_api_keys,
    revoke_api_key,
)
from webui.cli.common import prepare, run_with_database, tell_web_processes
from webui.revocations import announce_key_revoked
from webui.webhooks.urls import WebhookUrlError, checked_webhook_url


def register(subparsers: Any) -> None:
    parser = add_parser(subparsers, "create-api-key", "create an API key (printed once)")
    parser.add_argument("name", help="what the key is for, e.g. 'erp' or 'zabbix'")
    parser.add_argument("--role", required=True, choices=("operator", "viewer"))
    parser.add_argument(
        "--account",
        metavar="NAME",
        help="the client account it sends as, with its limits (default: the account 'default')",
    )
    parser.add_argument(
        "--webhook-url",
        metavar="URL",
        help="POST events for this key here "
        "(a public address, or one listed in [web] webhook_allow)",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run_create_api_key)

    parser = add_parser(subparsers, "list-api-keys", "list API keys (never the secrets)")
    add_config_argument(parser)
    parser.set_defaults(handler=run_list_api_keys)

    parser = add_parser(subparsers, "revoke-api-key", "revoke an API key at once")
    parser.add_argument("key", help="the key's id, name or prefix")
    add_config_argument(parser)
    parser.set_defaults(handler=run_revoke_api_key)


def run_create_api_key(args: argparse.Namespace) -> int:
    settings = prepare(args)
    policy = AddressPolicy.parse(settings.web.webhook_allow)
    try:
        webhook_url = (
            asyncio.run(checked_webhook_url(args.webhook_url, policy)) if args.webhook_url else None
        )
    except WebhookUrlError as exc:
        raise CliError(str(exc)) from None

    async def work(db: Database) -> NewApiKey:
        async with db.begin() as conn:
            account_id = await _account_id(conn, args.account)
            new = await create_api_key(
                conn, args.name, args.role, webhook_url=webhook_url, account_id=account_id
            )
            await record(
                conn,
                "cli",
                "api_key.create",
                f"api_key:{new.id}",
                {"name": new.name, "role": new.role.value, "account_id": account_id},
            )
            return new

    try:
        new = run_with_database(settings, work)
    except ApiKeyError as exc:
        raise CliError(str(exc)) from None
    print(f"API key {new.id} {new.name!r} ({new.role.value}) created, prefix {new.prefix}")
    print(f"webhook signing secret: {new.webhook_secret}")
    print("the key (shown once, store it now):")
    print(new.key)
    return 0


async def _account_id(conn: AsyncConnection, name: str | None) -> int | None:
    """The id of the live account named ``name`` (any case); None for the default one."""
    if name is None:
        return None
    found = (
        await conn.execute(
            select(accounts.c.id, accounts.c.revoked_at).where(
                accounts.c.name_key == name.strip().lower()
            )
        )
    ).first()
    if found is None:
        raise CliError(f"there is no account named {name!r}")
    if found.revoked_at is not None:
        raise CliError(f"the account {name!r} is revoked")
    return int(found.id)


def run_list_api_keys(args: argparse.Namespace) -> int:
    settings = prepare(args)

    async def work(db: Database) -> list[Any]:
        async with db.read() as conn:
            return await list_api_keys(conn)

    rows = run_with_database(settings, work)
    table = [("ID", "NAME", "PREFIX", "ROLE", "LAST USED", "STATE")]
    for row in rows:
        used = row.last_used_at.strftime("%Y-%m-%d %H:%M UTC") if row.last_used_at else "never"
        state = "revoked" if row.revoked_at else "active"
        table.append((str(row.id), row.name, row.key_prefix, row.role, used, state))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def run_revoke_api_key(args: argparse.Namespace) -> int:
    settings = prepare(args)

    async def work(db: Database) -> int:
        async with db.begin() as conn:
            key_id = await find_key_id(conn, args.key)
            if key_id is None:
                raise CliError(f"no single live API key matches {args.key!r}")
            await revoke_api_key(conn, key_id)
            await record(conn, "cli", "api_key.revoke", f"api_key:{key_id}")
        await tell_web_processes(settings, announce_key_revoked, key_id)
        return key_id

    key_id = run_with_database(settings, work)
    print(f"API key {key_id} revoked")
    return 0
