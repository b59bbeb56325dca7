"""``webui create-smpp-account``, ``list-smpp-accounts``, ``revoke-smpp-account`` and
``create-api-key --account`` as users run them: the password comes from standard input (more
than 8 characters is one line of error and a non-zero exit, never a traceback), the list is a
table, revocation takes effect, every change is audited, and the hash is never printed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import webui.cli
from gatewayd.store import Database, accounts, api_keys, audit_log
from tests.integration.web.conftest import SECRET

WEBUI = str(Path(sys.executable).with_name("webui"))


def run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WEBUI, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SMSGW_DATABASE_URL": sqlite_url,
        "SMSGW_SECRET_KEY": SECRET,
        "SMSGW_LOG_FILE": str(tmp_path / "app.log"),
    }


def read(url: str, query: Any) -> list[Any]:
    async def main() -> list[Any]:
        db = Database(url)
        try:
            async with db.read() as conn:
                return list((await conn.execute(query)).all())
        finally:
            await db.close()

    return asyncio.run(main())


def test_the_account_options_are_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Every command answers --help (tests/unit/test_cli_commands.py); these name the options."""
    for command, option in (
        ("create-smpp-account", "--tps"),
        ("create-smpp-account", "--allow"),
        ("revoke-smpp-account", "SYSTEM_ID"),
        ("create-api-key", "--account"),
    ):
        with pytest.raises(SystemExit):
            webui.cli.main([command, "--help"])
        assert option in capsys.readouterr().out, command


def test_create_list_and_revoke(env: dict[str, str], sqlite_url: str) -> None:
    created = run(
        [
            "create-smpp-account",
            "esme01",
            "--tps",
            "20",
            "--allow",
            "10.0.0.0/8",
            "--allow",
            "192.168.1.0/24",
            "--daily-quota",
            "1000",
            "--modem",
            "gsm1",
            "--receive-from",
            "gsm1",
        ],
        env,
        "pw123456\n",
    )
    assert created.returncode == 0, created.stderr
    assert "esme01" in created.stdout and "20 messages/s" in created.stdout

    listed = run(["list-smpp-accounts"], env)
    lines = listed.stdout.splitlines()
    assert lines[0].split() == [
        "ID",
        "NAME",
        "SYSTEM_ID",
        "TPS",
        "DAILY",
        "MONTHLY",
        "NETWORKS",
        "MODEMS",
        "STATE",
    ]
    row = lines[1].split()
    assert row[1:] == [
        "esme01",
        "esme01",
        "20",
        "1000",
        "-",
        "10.0.0.0/8,192.168.1.0/24",
        "gsm1",
        "active",
    ]

    [stored] = read(sqlite_url, select(accounts).where(accounts.c.system_id == "esme01"))
    assert stored.smpp_password_hash.startswith("$argon2")
    assert stored.smpp_password_hash not in created.stdout + listed.stdout
    assert stored.incoming_modems == ["gsm1"]

    revoked = run(["revoke-smpp-account", "esme01"], env)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert run(["list-smpp-accounts"], env).stdout.splitlines()[1].split()[-1] == "revoked"
    actions = [
        row.action for row in read(sqlite_url, select(audit_log.c.action, audit_log.c.actor))
    ]
    assert actions == ["account.create", "account.revoke"]


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (["create-smpp-account", "esme02"], "123456789\n", "at most 8 characters"),
        (["create-smpp-account", "esme02"], "", "no SMPP password"),
        (["create-smpp-account", "a" * 16], "pw\n", "system_id"),
        (["create-smpp-account", "esme02", "--allow", "10.0.0.0/33"], "pw\n", "not a network"),
        (["create-smpp-account", "esme#2"], "pw\n", "--name"),
        (["create-smpp-account", "esme02", "--tps", "0"], "pw\n", "tps"),
        (["revoke-smpp-account", "nobody"], "", "does not exist"),
        (["create-api-key", "k", "--role", "operator", "--account", "nope"], "", "no account"),
    ],
)
def test_mistakes_are_one_line(env: dict[str, str], args: list[str], stdin: str, says: str) -> None:
    result = run(args, env, stdin)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_api_keys_join_the_named_account(env: dict[str, str], sqlite_url: str) -> None:
    assert run(["create-smpp-account", "erp", "--daily-quota", "5"], env, "pw\n").returncode == 0
    made = run(["create-api-key", "erp-key", "--role", "operator", "--account", "ERP"], env)
    assert made.returncode == 0, made.stderr
    default = run(["create-api-key", "other", "--role", "viewer"], env)
    assert default.returncode == 0
    owners = {
        row.name: row.account
        for row in read(
            sqlite_url,
            select(api_keys.c.name, accounts.c.name.label("account")).join(
                accounts, api_keys.c.account_id == accounts.c.id
            ),
        )
    }
    assert owners == {"erp-key": "erp", "other": "default"}
