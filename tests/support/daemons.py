"""``gatewayd run`` and ``webui run`` as real processes against simulated modems.

:class:`DaemonProcess` wraps :class:`tests.peers.helpers.ManagedProcess` (own process group,
output in files) with what fault scenarios need: :meth:`DaemonProcess.kill9` (no clean-up
of any kind), :meth:`DaemonProcess.restart`, and the JSON log lines it wrote.
:func:`gateway_config` writes the TOML for a set of simulated modems;
:func:`enqueue_many` queues messages in bulk straight into the database, as ``gatewayd send``
would one at a time; :func:`migrate_here` creates the schema as ``gatewayd migrate`` would,
:func:`new_api_key` writes a key as ``webui create-api-key`` would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gatewayd.queue import NewMessage, enqueue, prepare
from gatewayd.store import Database
from gatewayd.store import migrate as migrations
from tests.peers.helpers import ManagedProcess, SimulatedModem, gatewayd_command, wait_until
from webui.auth import apikeys

WEBUI = Path(sys.executable).with_name("webui")


def gateway_config(
    path: Path,
    modems: Sequence[SimulatedModem],
    *,
    host: str = "faults",
    poll_interval: float = 0.5,
    data_dir: Path | None = None,
    reassembly_timeout: float = 3600.0,
    pins: dict[int, str] | None = None,
    lease: dict[str, float | str] | None = None,
) -> Path:
    """A gatewayd TOML naming each simulated modem ``sim{index}``; ``lease`` is the
    ``[gateway.lease]`` table."""
    lines = [
        "[gateway]",
        f'host = "{host}"',
        f"poll_interval = {poll_interval}",
        f"reassembly_timeout = {reassembly_timeout}",
        f'data_dir = "{data_dir or path.parent / "data"}"',
        "[gateway.retry]",
        "max_attempts = 5",
        "backoff_base = 0.2",
        "backoff_cap = 1.0",
    ]
    if lease:
        lines.append("[gateway.lease]")
        lines += [f"{key} = {value!r}".replace("'", '"') for key, value in lease.items()]
    for modem in modems:
        lines += ["[[modem]]", f'name = "sim{modem.index}"', f'device = "{modem.device}"']
        if pins and modem.index in pins:
            lines.append(f'pin = "{pins[modem.index]}"')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class DaemonProcess:
    """One long-running command (``gatewayd run`` or ``webui run``) that scenarios kill."""

    def __init__(self, name: str, argv: Sequence[str], work_dir: Path, env: dict[str, str]):
        self.name = name
        self.argv = list(argv)
        self.work_dir = work_dir
        self.env = env
        self.log_file = work_dir / f"{name}.log"
        self.starts = 0
        self.kills = 0
        self.current: ManagedProcess | None = None

    async def start(self) -> None:
        self.starts += 1
        env = {**self.env, "SMSGW_LOG_FILE": str(self.log_file)}
        self.current = ManagedProcess(
            f"{self.name}-{self.starts}", self.argv, self.work_dir / "logs", env=env
        )
        await self.current.start()

    @property
    def pid(self) -> int:
        assert self.current is not None and self.current.process is not None
        return self.current.process.pid

    @property
    def running(self) -> bool:
        return self.current is not None and self.current.running

    async def kill9(self) -> None:
        """SIGKILL the whole process group and reap it."""
        assert self.current is not None and self.current.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.current.process.pid, signal.SIGKILL)
        await self.current.process.wait()
        self.kills += 1

    async def restart(self) -> None:
        if self.running:
            await self.kill9()
        await self.start()

    async def stop(self) -> int | None:
        if self.current is None:
            return None
        return await self.current.stop(grace=20)

    def log_events(self, name: str | None = None) -> list[dict[str, Any]]:
        if not self.log_file.exists():
            return []
        found = []
        for line in self.log_file.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and (name is None or event.get("event") == name):
                    found.append(event)
        return found

    def output(self) -> str:
        return self.current.output() if self.current is not None else "[never started]"

    async def wait_log(self, event: str, *, count: int = 1, timeout: float = 30) -> None:
        def enough() -> bool:
            if self.current is not None and not self.current.running:
                raise AssertionError(f"{self.name} exited\n{self.output()}")
            return len(self.log_events(event)) >= count

        await wait_until(
            enough,
            timeout=timeout,
            what=f"{count}x {event!r} from {self.name}",
            diagnostics=self.output,
        )


def gateway_process(config: Path, work_dir: Path, env: dict[str, str]) -> DaemonProcess:
    argv = [*gatewayd_command(), "run", "--config", str(config)]
    return DaemonProcess("gatewayd", argv, work_dir, env)


def webui_process(work_dir: Path, env: dict[str, str]) -> DaemonProcess:
    return DaemonProcess("webui", [str(WEBUI), "run"], work_dir, env)


async def run_migrate(env: dict[str, str]) -> None:
    """The schema at ``SMSGW_DATABASE_URL`` of ``env`` created (see :func:`migrate_here`)."""
    await migrate_here(env["SMSGW_DATABASE_URL"])


async def migrate_here(database_url: str) -> migrations.MigrationResult:
    """Create the schema at ``database_url`` in this process, as ``gatewayd migrate`` does
    (that command is tested on its own): where the schema is only a prerequisite, no
    process start."""
    db = Database(database_url)
    try:
        return await migrations.upgrade(db)
    finally:
        await db.close()


async def enqueue_many(
    db: Database, news: Sequence[NewMessage], *, created_by: str = "faults", chunk: int = 200
) -> list[int]:
    """Queue ``news`` in transactions of ``chunk``; their ids in order."""
    ids: list[int] = []
    for start in range(0, len(news), chunk):
        async with db.begin() as conn:
            batch_ids, _ = await enqueue(
                conn, [prepare(n) for n in news[start : start + chunk]], created_by=created_by
            )
        ids.extend(batch_ids)
    return ids


def external_number(i: int) -> str:
    """A valid Brazilian mobile number outside the simulated network."""
    return f"+55119{87000000 + i:08d}"


async def create_api_key(env: dict[str, str], name: str, role: str = "operator") -> str:
    """A new key of the database ``SMSGW_DATABASE_URL`` in ``env`` names, written in this
    process through the library, as ``webui create-api-key NAME --role ROLE`` writes it (that
    command is tested on its own): where a key is only a prerequisite, no process start."""
    return await new_api_key(env["SMSGW_DATABASE_URL"], name, role)


async def new_api_key(database_url: str, name: str, role: str = "operator") -> str:
    """A new API key of the default account in the database at ``database_url`` (its schema
    current); the key itself."""
    db = Database(database_url)
    try:
        async with db.begin() as conn:
            new = await apikeys.create_api_key(conn, name, role)
    finally:
        await db.close()
    return new.key


async def wait_http_ok(url: str, *, timeout: float = 30, what: str = "the web service") -> None:
    """Poll ``url`` until it answers below 500 (any answer from a live server)."""
    import aiohttp

    async def answers() -> bool:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response,
            ):
                return response.status < 500
        except (aiohttp.ClientError, TimeoutError):
            return False

    from tests.peers.helpers import wait_until_async

    await wait_until_async(answers, timeout=timeout, what=what)
