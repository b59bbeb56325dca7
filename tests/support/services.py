"""Private PostgreSQL clusters and Redis servers that a test may stop, kill and flush.

The shared servers on 127.0.0.1:5432 and :6379 serve every other test, so a scenario that
restarts its database or its Redis starts its own: :class:`PrivatePostgres` runs ``initdb`` as
the ``postgres`` OS user into a fresh directory under /tmp (the server refuses to run as
root), listens on a free loopback port with its socket in that directory, and
:meth:`PrivatePostgres.stop` with ``mode="immediate"`` is a crash. :class:`PrivateRedis` runs
``redis-server --save ''`` on a free port. Both are context managers that remove everything.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.support.ports import free_port
from tests.support.tools import PG_BIN, require_program

PG_USER = "postgres"


def pg_program(name: str) -> str:
    """A PostgreSQL server program of :data:`~tests.support.tools.PG_BIN`."""
    return require_program(name, directories=(PG_BIN,))


def _as_postgres(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    runuser = [require_program("runuser"), "-u", PG_USER, "--"]
    command = [*runuser, *argv] if os.geteuid() == 0 else list(argv)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class PrivatePostgres:
    """A throwaway PostgreSQL 15 cluster: ``url(database)``, ``stop(mode)``, ``start()``;
    ``settings`` are passed to the server as ``-c name=value``."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="smsgw-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.settings = dict(settings or {})

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.root, PG_USER, PG_USER)
        self._create()
        self.start()
        return self

    def _create(self) -> None:
        done = _as_postgres(
            pg_program("initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            PG_USER,
            "-E",
            "UTF8",
            "--no-sync",
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c max_connections=200"
        ) + "".join(f" -c {name}={value}" for name, value in self.settings.items())
        done = _as_postgres(
            pg_program("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"pg_ctl start failed: {done.stdout}{done.stderr}"
                f"{self.log.read_text(errors='replace')[-2000:]}"
            )
        _wait_for_port(self.port, 30)

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(pg_program("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def promote(self) -> None:
        """A standby becomes the primary (``pg_ctl promote``, waiting until it takes writes)."""
        done = _as_postgres(pg_program("pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "promote")
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl promote failed: {done.stdout}{done.stderr}")

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with psql; its output (unaligned, tuples only)."""
        done = _as_postgres(
            require_program("psql", directories=(PG_BIN,)),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            PG_USER,
            "-d",
            database,
            "-Atc",
            statement,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def create_database(self, name: str) -> str:
        done = _as_postgres(
            pg_program("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, name
        )
        if done.returncode != 0:
            raise RuntimeError(f"createdb failed: {done.stderr.strip()}")
        return self.url(name)


class PrivateRedis:
    """A throwaway ``redis-server`` without persistence: ``kill()``, ``start()``, ``url``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()

    def start(self) -> None:
        argv = [
            require_program("redis-server"),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        _wait_for_port(self.port, 20)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None


class PrivateStandby(PrivatePostgres):
    """A streaming replica of ``primary``, made with ``pg_basebackup -R`` (it names itself
    ``application_name`` ``name`` for ``synchronous_standby_names``); :meth:`promote` makes
    it the primary."""

    def __init__(self, primary: PrivatePostgres, name: str = "standby") -> None:
        # The primary's settings but a synchronous standby's name: once promoted, a primary
        # waiting for a standby it does not have would stop committing.
        kept = {k: v for k, v in primary.settings.items() if k != "synchronous_standby_names"}
        super().__init__(kept)
        self.primary = primary
        self.name = name

    def _create(self) -> None:
        conninfo = (
            f"host=127.0.0.1 port={self.primary.port} user={PG_USER} application_name={self.name}"
        )
        done = _as_postgres(
            pg_program("pg_basebackup"),
            "-d",
            conninfo,
            "-D",
            str(self.data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed: {done.stderr.strip()}")

    def wait_streaming(self, *, sync: bool, timeout: float = 30) -> None:
        """Until the primary sees this standby streaming (and, with ``sync``, as synchronous)."""
        wanted = "sync" if sync else "async"
        query = (
            "SELECT sync_state FROM pg_stat_replication "
            f"WHERE application_name = '{self.name}' AND state = 'streaming'"
        )
        deadline = time.monotonic() + timeout
        while self.primary.sql(query) != wanted:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"standby {self.name} not streaming ({wanted}) after {timeout} s"
                )
            time.sleep(0.1)
