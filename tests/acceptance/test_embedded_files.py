"""``gatewayd run --web`` in an empty folder under a permissive umask: the database, its WAL
files and the generated ``secret.key`` are private (0600), and ``webui security-check`` run
beside it judges that very key file: its strength and its mode."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.acceptance.core.procs import GATEWAYD, environment

pytestmark = pytest.mark.acceptance

WEBUI = str(Path(sys.executable).with_name("webui"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@asynccontextmanager
async def embedded(folder: Path, env: dict[str, str]) -> AsyncIterator[None]:
    """``gatewayd run --web`` under umask 022, serving for the block."""
    process = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        'umask 022 && exec "$@"',
        "sh",
        GATEWAYD,
        "run",
        "--web",
        "--simulate",
        "1",
        env=env,
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    lines = []
    try:
        while not any(line.startswith("web UI at") for line in lines):
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, f"gatewayd run --web exited: {lines}"
            lines.append(line.decode())
        yield
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)


async def security_check(folder: Path, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        WEBUI,
        "security-check",
        env=env,
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return out.decode()


async def test_embedded_files_are_private_and_security_check_judges_the_same_key(
    tmp_path: Path,
) -> None:
    env = environment(SMSGW_LISTEN="127.0.0.1:0")
    data = tmp_path / "data"

    before = await security_check(tmp_path, env)
    assert "no secret key" in before and str(data / "secret.key") in before

    async with embedded(tmp_path, env):
        files = {
            name: mode(data / name)
            for name in ("gateway.db", "gateway.db-wal", "gateway.db-shm", "secret.key")
        }
    assert files == dict.fromkeys(files, 0o600)
    assert os.stat(data / "secret.key").st_size > 32

    found = await security_check(tmp_path, env)
    assert "secret key" not in found, found

    (data / "secret.key").write_text("changeme\n")
    os.chmod(data / "secret.key", 0o644)
    os.chmod(data / "gateway.db", 0o644)
    weak = await security_check(tmp_path, env)
    assert f"the secret key in {data / 'secret.key'} is a well-known or trivial" in weak, weak
    assert f"{data / 'secret.key'} is readable by other users (mode 0644)" in weak, weak
    assert f"{data / 'gateway.db'} is readable by other users (mode 0644)" in weak, weak

    async with embedded(tmp_path, env):
        assert mode(data / "secret.key") == 0o600 and mode(data / "gateway.db") == 0o600
    replaced = (data / "secret.key").read_text().strip()
    assert replaced != "changeme" and len(replaced) >= 32
    assert "secret" not in await security_check(tmp_path, env)
