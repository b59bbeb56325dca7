"""The command lines at their edges, as processes: run from a folder with no database they say
where they looked (and create nothing); a reader that goes away (``| head -1``) ends them
quietly, never with a ``BrokenPipeError`` traceback."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from gatewayd.sms import encode_submit
from gatewayd.store import Database, users
from tests.acceptance.core.procs import environment
from tests.acceptance.test_simulate_cli import GATEWAYD
from tests.support.daemons import migrate_here

pytestmark = pytest.mark.acceptance
WEBUI = str(Path(GATEWAYD).with_name("webui"))
BROKEN_PIPE_EXIT = 141


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "command",
    [
        [GATEWAYD, "show", "1"],
        [GATEWAYD, "send", "--to", "+5511987654321", "--text", "lost?"],
        [WEBUI, "list-users"],
        [WEBUI, "create-user", "maria", "--role", "viewer"],
        [WEBUI, "create-api-key", "erp", "--role", "operator"],
    ],
    ids=lambda command: f"{Path(command[0]).name} {command[1]}",
)
def test_no_database_here_is_one_line_and_creates_nothing(
    command: list[str], tmp_path: Path
) -> None:
    result = run(command, environment(), tmp_path)
    looked_for = tmp_path / "data" / "gateway.db"
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"error: no database at {looked_for}: " in result.stderr
    assert "SMSGW_DATABASE_URL" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_named_database_that_is_missing_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "gw.db"
    env = environment(SMSGW_DATABASE_URL=f"sqlite:///{missing}")
    result = run([GATEWAYD, "show", "1"], env, tmp_path)
    assert result.returncode == 1
    assert f"no database at {missing}: " in result.stderr
    assert not (tmp_path / "elsewhere").exists()


def run_into_closed_pipe(
    args: list[str], env: dict[str, str], cwd: Path, stdin: bytes = b""
) -> tuple[int, str]:
    """Run with stdout on a pipe whose reader has already gone, as after ``| head -1``."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            args,
            env=env,
            cwd=cwd,
            input=stdin,
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        os.close(write_end)
    return result.returncode, result.stderr.decode()


def test_help_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    for args in ([GATEWAYD, "--help"], [WEBUI, "--help"], [GATEWAYD, "run", "--help"]):
        code, err = run_into_closed_pipe(args, environment(), tmp_path)
        # argparse itself ignores a failed write of the help; the exit flush must not fail
        assert err == "" and code in (0, BROKEN_PIPE_EXIT), (args, code, err)


def test_pdu_decode_into_head_ends_quietly(tmp_path: Path) -> None:
    [part] = encode_submit("+5511987654321", "olá " * 10, status_report=True)
    pdus = (part.pdu + "\n") * 5000
    code, err = run_into_closed_pipe(
        [GATEWAYD, "pdu", "decode", "-"], environment(), tmp_path, pdus.encode()
    )
    assert (code, err) == (BROKEN_PIPE_EXIT, "")
    shell = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {GATEWAYD} pdu decode - | head -1"],
        input=pdus,
        env=environment(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shell.stdout.startswith('{"type": "submit"') and shell.stdout.count("\n") == 1
    assert shell.stderr == "" and shell.returncode == BROKEN_PIPE_EXIT


async def add_users(url: str, count: int) -> None:
    db = Database(url)
    try:
        async with db.begin() as conn:
            await conn.execute(
                users.insert(),
                [
                    {
                        "username": f"user{i:05d}",
                        "username_key": f"user{i:05d}",
                        "password_hash": "-",
                        "role": "viewer",
                    }
                    for i in range(count)
                ],
            )
    finally:
        await db.close()


def test_list_users_into_head_ends_quietly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    env = environment(SMSGW_DATABASE_URL=url)
    asyncio.run(migrate_here(url))
    asyncio.run(add_users(url, 3000))  # about 200 kB of table: far more than a pipe holds
    shell = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {WEBUI} list-users | head -1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shell.stdout.split() == ["USERNAME", "ROLE", "LAST", "LOGIN", "LOCKED"]
    assert shell.stderr == "" and shell.returncode == BROKEN_PIPE_EXIT
    code, err = run_into_closed_pipe([WEBUI, "list-users"], env, tmp_path)
    assert (code, err) == (BROKEN_PIPE_EXIT, "")
