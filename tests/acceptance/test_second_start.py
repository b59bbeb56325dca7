"""A second ``gatewayd run`` is safe, as processes: on a data folder in use it is refused in one
line and leaves the first one's simulated modems, wake-up socket and database alone; on a taken
port it says so in one line before creating anything (no database, no admin password to lose).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.core.procs import Daemon, environment, wait_for
from tests.acceptance.test_simulate_cli import GATEWAYD
from tests.support.daemons import migrate_here
from tests.support.ports import free_port

pytestmark = pytest.mark.acceptance
WEBUI = str(Path(GATEWAYD).with_name("webui"))


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


async def run_once(
    program: str, *args: str, env: dict[str, str], cwd: Path
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        program,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:  # it did not stop: the second daemon ran
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def device_links(output: list[str]) -> list[Path]:
    """The pty links of ``simulated modem sim0: +55… on PATH`` lines."""
    return [Path(line.split(" on ", 1)[1].strip()) for line in output if " on /" in line]


async def test_second_start_on_a_data_folder_in_use_is_refused(tmp_path: Path) -> None:
    env = environment(SMSGW_LISTEN=f"127.0.0.1:{free_port()}")
    first = Daemon(("--web", "--simulate", "2"), env, tmp_path / "first.log", cwd=tmp_path)
    try:
        await first.start()
        assert first.process is not None
        links = device_links(first.output)
        wake_socket = tmp_path / "data" / "gatewayd.wake"
        assert len(links) == 2 and all(link.exists() for link in links)
        await wait_for(wake_socket.exists, timeout=20, what="the wake-up socket")
        # a second `make run` in the same folder: same data folder, same port
        code, out, err = await run_once(
            GATEWAYD, "run", "--web", "--simulate", "2", env=env, cwd=tmp_path
        )
        # the same with another port: the data folder alone must stop it
        other_port = environment(SMSGW_LISTEN=f"127.0.0.1:{free_port()}")
        code_other, out_other, err_other = await run_once(
            GATEWAYD, "run", "--simulate", "1", env=other_port, cwd=tmp_path
        )
        links_after = [link.exists() for link in links]
        socket_after = wake_socket.exists()
        first_alive = first.process.returncode is None
        stopped, _ = await first.terminate()
    finally:
        await first.ensure_stopped()
    expected = (
        f"gatewayd run: error: data folder ./data is in use by another gatewayd "
        f"(pid {first.process.pid})\n"
    )
    assert (code, out, err) == (1, "", expected)
    assert (code_other, out_other, err_other) == (1, "", expected)
    assert links_after == [True, True] and socket_after and first_alive
    assert stopped == 0


async def test_a_lock_left_by_a_killed_gatewayd_does_not_block(tmp_path: Path) -> None:
    env = environment(SMSGW_LISTEN=f"127.0.0.1:{free_port()}")
    killed = Daemon(("--simulate", "1"), env, tmp_path / "killed.log", cwd=tmp_path)
    again = Daemon(("--simulate", "1"), env, tmp_path / "again.log", cwd=tmp_path)
    try:
        await killed.start()
        await killed.kill()
        await again.start()
        code, _ = await again.terminate()
    finally:
        await killed.ensure_stopped()
        await again.ensure_stopped()
    assert (tmp_path / "data" / "gatewayd.lock").exists()
    assert code == 0


async def test_a_taken_port_is_one_line_before_anything_is_created(
    tmp_path: Path, taken_port: int
) -> None:
    env = environment(SMSGW_LISTEN=f"127.0.0.1:{taken_port}")
    code, out, err = await run_once(
        GATEWAYD, "run", "--web", "--simulate", "2", env=env, cwd=tmp_path
    )
    assert code == 1 and out == ""
    assert err == (
        f"gatewayd run: error: port {taken_port} in use: set SMSGW_LISTEN to a free address, "
        f"e.g. 127.0.0.1:{taken_port + 1}\n"
    )
    left = sorted(p.name for p in (tmp_path / "data").iterdir())
    assert left == ["gatewayd.lock"]  # no database, no secret key, no simulated modems
    web_env = {
        **env,
        "SMSGW_SECRET_KEY": "a-long-secret-key-for-this-test-0123456789-abcdef",
        "SMSGW_DATABASE_URL": f"sqlite:///{tmp_path / 'web' / 'gw.db'}",
    }
    await migrate_here(web_env["SMSGW_DATABASE_URL"])
    code, out, err = await run_once(WEBUI, "run", env=web_env, cwd=tmp_path)
    assert code == 1 and out == ""
    assert err.startswith(f"webui run: error: port {taken_port} in use: set SMSGW_LISTEN")
    assert err.count("\n") == 1
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["gatewayd.lock"]
