"""``webui create-user``, ``list-users``, ``set-password``, ``unlock-user`` and ``reset-2fa``.

Passwords: when standard input is not a terminal, its first line is the password (so scripts
can pipe one in). Otherwise — or when that line is empty — a strong password is generated,
printed once as the last line of output, and the user must change it after signing in.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from sqlalchemy import update

from gatewayd.config.command_line import CliError, add_config_argument, add_parser
from gatewayd.store import Database, users, utc_now
from webui.audit import record
from webui.auth import two_factor
from webui.auth.passwords import WeakPassword, generate_password
from webui.auth.sessions import end_user_sessions
from webui.auth.throttle import forget_user
from webui.auth.users import (
    UserError,
    create_user,
    find_user,
    is_locked,
    list_users,
    set_password,
    username_key,
)
from webui.cli.common import prepare, run_with_database, tell_web_processes
from webui.revocations import announce_sessions_ended


def register(subparsers: Any) -> None:
    parser = add_parser(subparsers, "create-user", "create a web UI user")
    parser.add_argument("name", help="user name (letters, digits, '.', '_', '@', '-')")
    parser.add_argument("--role", required=True, choices=("admin", "operator", "viewer"))
    add_config_argument(parser)
    parser.set_defaults(handler=run_create_user)

    parser = add_parser(subparsers, "list-users", "list users, roles, last login, locked state")
    add_config_argument(parser)
    parser.set_defaults(handler=run_list_users)

    parser = add_parser(subparsers, "set-password", "set a user's password (and unlock them)")
    parser.add_argument("name")
    add_config_argument(parser)
    parser.set_defaults(handler=run_set_password)

    parser = add_parser(
        subparsers, "unlock-user", "lift a user's lock and forget failed sign-ins with their name"
    )
    parser.add_argument("name")
    add_config_argument(parser)
    parser.set_defaults(handler=run_unlock_user)

    parser = add_parser(
        subparsers,
        "reset-2fa",
        "turn off a user's two-factor sign-in (lost phone); ends their sessions",
    )
    parser.add_argument("name")
    add_config_argument(parser)
    parser.set_defaults(handler=run_reset_two_factor)


def read_password() -> tuple[str, bool]:
    """(password, generated): the first line of a piped stdin, else a generated one."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if line:
            return line, False
    return generate_password(), True


def run_create_user(args: argparse.Namespace) -> int:
    settings = prepare(args)
    password, generated = read_password()

    async def work(db: Database) -> None:
        async with db.begin() as conn:
            user_id = await create_user(
                conn, args.name, args.role, password, must_change_password=generated
            )
            await record(conn, "cli", "user.create", args.name, {"id": user_id, "role": args.role})

    try:
        run_with_database(settings, work)
    except (UserError, WeakPassword) as exc:
        raise CliError(str(exc)) from None
    print(f"user {args.name!r} created with role {args.role}")
    if generated:
        print("generated password (shown once; to be changed at first sign-in):")
        print(password)
    return 0


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def run_list_users(args: argparse.Namespace) -> int:
    settings = prepare(args)

    async def work(db: Database) -> list[Any]:
        async with db.read() as conn:
            return await list_users(conn)

    rows = run_with_database(settings, work)
    now = utc_now()
    table = [("USERNAME", "ROLE", "LAST LOGIN", "LOCKED")]
    for row in rows:
        if row.disabled_at is not None:
            locked = "disabled"
        elif is_locked(row, now):
            locked = f"until {row.locked_until.strftime('%H:%M UTC')}"
        else:
            locked = "no"
        table.append((row.username, row.role, _when(row.last_login_at), locked))
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    for line in table:
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print("  ".join(cells).rstrip())
    if not rows:
        print("(no users yet: create one with `webui create-user NAME --role admin`)")
    return 0


def run_set_password(args: argparse.Namespace) -> int:
    settings = prepare(args)
    password, generated = read_password()

    async def work(db: Database) -> None:
        async with db.begin() as conn:
            user = await find_user(conn, args.name)
            if user is None:
                raise CliError(f"there is no user named {args.name!r}")
            await set_password(conn, user.id, password, must_change=generated)
            await record(conn, "cli", "user.password", user.username)
        await tell_web_processes(settings, announce_sessions_ended, user.id)

    try:
        run_with_database(settings, work)
    except WeakPassword as exc:
        raise CliError(str(exc)) from None
    print(f"password of {args.name!r} changed")
    if generated:
        print("generated password (shown once; to be changed at first sign-in):")
        print(password)
    return 0


def run_unlock_user(args: argparse.Namespace) -> int:
    settings = prepare(args)

    async def work(db: Database) -> None:
        async with db.begin() as conn:
            result = await conn.execute(
                update(users)
                .where(users.c.username_key == username_key(args.name))
                .values(failed_logins=0, locked_until=None)
                .returning(users.c.username)
            )
            name = result.scalar_one_or_none()
            if name is None:
                raise CliError(f"there is no user named {args.name!r}")
            await forget_user(conn, name)
            await record(conn, "cli", "user.unlock", name)

    run_with_database(settings, work)
    print(f"user {args.name!r} unlocked")
    return 0


def run_reset_two_factor(args: argparse.Namespace) -> int:
    settings = prepare(args)

    async def work(db: Database) -> bool:
        async with db.begin() as conn:
            user = await find_user(conn, args.name)
            if user is None:
                raise CliError(f"there is no user named {args.name!r}")
            was_on = await two_factor.disable(conn, user.id)
            await end_user_sessions(conn, user.id)
            await record(conn, "cli", "user.two_factor.reset", user.username, {"was_on": was_on})
        await tell_web_processes(settings, announce_sessions_ended, user.id)
        return was_on

    was_on = run_with_database(settings, work)
    if was_on:
        print(f"two-factor sign-in of {args.name!r} turned off; their sessions ended")
    else:
        print(f"{args.name!r} had no two-factor sign-in; their sessions ended")
    return 0
