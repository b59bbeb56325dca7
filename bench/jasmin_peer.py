"""The SMPP benchmark's Jasmin peer: Jasmin's SMPP server (``jasmind``) measured by the same
client, with the same message count and windows, as our ``webui smpp``.

Everything is set up by the benchmark and thrown away after it:

- Jasmin from PyPI, pinned with hashes in ``bench/peers/jasmin-requirements.txt``, in a
  virtualenv of its own under ``~/.cache/smsgw-bench/`` (its old pinned dependencies never
  meet our ``uv.lock``), made once and reused while the requirements file is unchanged;
- a private RabbitMQ node (Debian's ``rabbitmq-server``; node name, ports, Mnesia directory,
  Erlang cookie and its own ``epmd`` in the work directory) and a private ``redis-server``;
- ``jasmind`` with a configuration file naming them, logging at WARNING like our server, and,
  through jCli (its telnet console), a group, a user whose SMPP credentials are ours
  (throughput unlimited, Jasmin's default), an SMPP client connector ``sink`` and a
  ``DefaultRoute`` to it.

The connector is added but never started. Jasmin answers a ``submit_sm`` with ``ESME_ROK`` once
it has published the message to the connector's RabbitMQ queue (and, as a receipt is asked for,
set the receipt mapping in Redis); without a route it would answer ``ESME_RINVDSTADR``, and
``ESME_RSUBMITFAIL`` without the connector (its source). So the
figure is Jasmin's acceptance into its queue, as ours is acceptance into ours, with no SMSC
traffic in either process. The queue is not durable and the publish is not confirmed
(``basic_publish`` on a transient queue, no publisher confirms): Jasmin's ``ESME_ROK`` does not
mean what ours means (committed to the database). After the runs, the queue must hold every
accepted message, or the benchmark fails.

A missing program, an install or a start that fails, or a jCli answer that is not the expected
one raises: the benchmark records the failure and fails, it never skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shutil
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench.common import BENCH_DIR, REPO_ROOT, say
from bench.procs import Proc, cpu_seconds, process_tree, run_to_end
from bench.stack import work_directory

REQUIREMENTS = BENCH_DIR / "peers" / "jasmin-requirements.txt"
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
"""Debian's RabbitMQ scripts; ``/usr/sbin/rabbitmq-server`` would switch to the rabbitmq user
and the system node's directories."""
CONNECTOR = "sink"
START_TIMEOUT_S = 90.0

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "smsgw-bench"


def jasmin_version() -> str:
    found = re.search(r"^jasmin==(\S+)", REQUIREMENTS.read_text(encoding="utf-8"), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no jasmin==VERSION line in {REQUIREMENTS}")
    return found.group(1)


def require(path: str | Path, package: str) -> str:
    """The path of a program, or an error naming its Debian package."""
    found = shutil.which(str(path))
    if found is None:
        raise RuntimeError(
            f"{path} is not installed: Debian package {package} (`make bench` installs it "
            "through scripts/system-deps.sh --bench)"
        )
    return found


async def install_jasmin() -> Path:
    """The virtualenv with the pinned Jasmin, made (hashes checked) when missing."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = cache_dir() / f"jasmin-{digest}"
    if (venv / ".complete").exists():
        return venv
    say(f"smpp jasmin: installing Jasmin {jasmin_version()} into {venv}")
    shutil.rmtree(venv, ignore_errors=True)
    uv = (await run_to_end([str(REPO_ROOT / "scripts" / "uv.sh"), "--path"])).strip()
    env = {"UV_PYTHON_DOWNLOADS": "never"}
    await run_to_end([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env=env)
    await run_to_end(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "--require-hashes",
            "-r",
            str(REQUIREMENTS),
        ],
        env=env,
        timeout=900,
    )
    (venv / ".complete").write_text(digest + "\n", encoding="utf-8")
    return venv


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def listening(port: int, proc: Proc, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        if not proc.running:
            break
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{proc.name} does not listen on {port}: {proc.output()}")


@contextlib.asynccontextmanager
async def started(proc: Proc, port: int) -> AsyncIterator[Proc]:
    """``proc`` running and listening on ``port``; stopped afterwards."""
    await proc.start()
    try:
        await listening(port, proc)
        yield proc
    finally:
        await proc.stop()


class TelnetText:
    """The text of a telnet stream, option negotiation taken out: an option the server asks
    for is refused (``DO`` → ``WONT``), one it offers is taken (``WILL`` → ``DO``: it echoes),
    subnegotiations are dropped, a sequence cut between reads is kept for the next."""

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        """(text, replies to write) for ``data``."""
        data, self.pending = self.pending + data, b""
        text, replies = bytearray(), bytearray()
        index = 0
        while index < len(data):
            byte = data[index]
            if byte != IAC:
                text.append(byte)
                index += 1
                continue
            if index + 1 >= len(data):
                break
            command = data[index + 1]
            if command == IAC:
                text.append(IAC)
                index += 2
            elif command in (DO, DONT, WILL, WONT):
                if index + 2 >= len(data):
                    break
                option = data[index + 2]
                if command == DO:
                    replies += bytes((IAC, WONT, option))
                elif command == WILL:
                    replies += bytes((IAC, DO, option))
                index += 3
            elif command == SB:
                end = data.find(bytes((IAC, SE)), index + 2)
                if end < 0:
                    break
                index = end + 2
            else:
                index += 2
        self.pending = data[index:]
        return bytes(text), bytes(replies)


class JCli:
    """Jasmin's jCli console driven line by line: each line is answered by a prompt (``jcli : ``
    at the top, ``> `` inside an add)."""

    PROMPTS = (b"jcli : ", b"> ")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.telnet = TelnetText()

    @classmethod
    async def connect(cls, port: int) -> JCli:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        console = cls(reader, writer)
        await console.send("")
        return console

    async def read_prompt(self, timeout: float = 30.0) -> str:
        text = b""
        while not text.endswith(self.PROMPTS):
            data = await asyncio.wait_for(self.reader.read(4096), timeout)
            if not data:
                raise RuntimeError(f"jCli closed the connection after {text!r}")
            found, replies = self.telnet.feed(data)
            text += found
            if replies:
                self.writer.write(replies)
        return text.decode("utf-8", errors="replace").replace("\r", "")

    async def send(self, line: str) -> str:
        self.writer.write(line.encode() + b"\r\n")
        answer = await self.read_prompt()
        if re.search(r"^(Error|Unknown|Invalid|Incorrect)", answer, re.MULTILINE | re.IGNORECASE):
            raise RuntimeError(f"jCli refused {line!r}: {answer.strip()}")
        return answer

    async def add(self, command: str, fields: list[tuple[str, str]]) -> None:
        """``command -a``, one line per field, then ``ok``, which must report success."""
        await self.send(f"{command} -a")
        for key, value in fields:
            await self.send(f"{key} {value}")
        answer = await self.send("ok")
        if "Successfully added" not in answer:
            raise RuntimeError(f"jCli did not add the {command}: {answer.strip()}")

    def close(self) -> None:
        self.writer.close()


async def configure(jcli_port: int, system_id: str, password: str) -> None:
    """A group, our bench user in it, the ``sink`` connector and a DefaultRoute to it."""
    console = await JCli.connect(jcli_port)
    try:
        await console.add("group", [("gid", "bench")])
        await console.add(
            "user",
            [("username", system_id), ("password", password), ("gid", "bench"), ("uid", "bench")],
        )
        await console.add("smppccm", [("cid", CONNECTOR), ("host", "127.0.0.1"), ("port", "9")])
        await console.add(
            "mtrouter",
            [("type", "DefaultRoute"), ("connector", f"smppc({CONNECTOR})"), ("rate", "0.00")],
        )
        user = await console.send(f"user -s {system_id}")
        for expected in (
            "smpps_cred authorization bind True",
            "mt_messaging_cred authorization smpps_send True",
            "mt_messaging_cred quota smpps_throughput ND",  # ND: no limit
        ):
            if expected not in user:
                raise RuntimeError(f"Jasmin's user lacks {expected!r}: {user}")
    finally:
        console.close()


class Rabbit:
    """A private RabbitMQ node with its own epmd, all in ``work``."""

    def __init__(self, work: Path) -> None:
        self.server = require(RABBITMQ_BIN / "rabbitmq-server", "rabbitmq-server")
        epmd = require("epmd", "erlang-base (a dependency of rabbitmq-server)")
        home = work / "rabbitmq"
        home.mkdir(parents=True)
        (home / "rabbitmq.conf").write_text("", encoding="utf-8")
        (home / "rabbitmq-env.conf").write_text("", encoding="utf-8")
        (home / "enabled_plugins").write_text("[].\n", encoding="utf-8")
        self.port = free_port()
        self.epmd_port = free_port()
        self.env = {
            "HOME": str(home),  # the Erlang cookie
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": f"smsgwbench{os.getpid()}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(home / "log"),
            "RABBITMQ_LOGS": "-",
            "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(home / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(home / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(home / "rabbitmq.pid"),
        }
        logs = work / "logs"
        self.epmd = Proc("epmd", [epmd, "-port", str(self.epmd_port)], logs, env=self.env)
        self.node = Proc("rabbitmq", [self.server], logs, env=self.env, cwd=home)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Rabbit]:
        async with started(self.epmd, self.epmd_port), started(self.node, self.port):
            yield self

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in process_tree(self.node.pid))

    async def ctl(self, *args: str) -> str:
        return await run_to_end([str(RABBITMQ_BIN / "rabbitmqctl"), *args], env=self.env)

    async def queued(self, queue: str) -> int:
        listing = await self.ctl("list_queues", "--quiet", "--no-table-headers", "name", "messages")
        for line in listing.splitlines():
            name, _, count = line.strip().partition("\t")
            if name == queue:
                return int(count)
        raise RuntimeError(f"RabbitMQ has no queue {queue}: {listing}")


def jasmin_config(work: Path, venv: Path, amqp_port: int, redis_port: int) -> dict[str, Any]:
    """Write ``jasmin.cfg``; return its path and the ports it gives."""
    ports = {name: free_port() for name in ("smpp", "smpps_pb", "cm", "router", "jcli", "http")}
    spec = next(venv.glob("lib/python*/site-packages/txamqp/specs/standard/amqp0-9-1.stripped.xml"))
    sections = {
        "smpp-server": {"port": ports["smpp"], "billing_feature": "False"},
        "smpp-server-pb": {"port": ports["smpps_pb"]},
        "client-management": {"port": ports["cm"], "store_path": work / "store"},
        "router": {"port": ports["router"], "store_path": work / "store"},
        "http-api": {"port": ports["http"]},
        "jcli": {"port": ports["jcli"], "authentication": "False"},
        "amqp-broker": {"host": "127.0.0.1", "port": amqp_port, "spec": spec},
        "redis-client": {"host": "127.0.0.1", "port": redis_port},
        "sm-listener": {},
        "dlr": {},
    }
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        if "port" in values and section not in ("amqp-broker", "redis-client"):
            lines.append("bind = 127.0.0.1")
        lines += [f"{key} = {value}" for key, value in values.items()]
        lines += ["log_level = WARNING", ""]
    (work / "store").mkdir()
    path = work / "jasmin.cfg"
    path.write_text("\n".join(lines), encoding="utf-8")
    return {"path": path, **ports}


async def bench_jasmin(quick: bool, runs: int) -> dict[str, Any]:
    from bench.smpp import PASSWORD, SYSTEM_ID, WINDOWS, submit_count, submits

    venv = await install_jasmin()
    redis = require("redis-server", "redis-server")
    count = submit_count(quick)
    with work_directory("smpp-jasmin") as work:
        rabbit = Rabbit(work)
        redis_port = free_port()
        redis_proc = Proc(
            "redis",
            [
                redis,
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(work),
            ],
            work / "logs",
        )
        config = jasmin_config(work, venv, rabbit.port, redis_port)
        root = work / "jasmin-root"  # Jasmin's /etc and /var/log
        (root / "var" / "log" / "jasmin").mkdir(parents=True)
        daemon = Proc(
            "jasmind",
            [
                str(venv / "bin" / "python"),
                str(venv / "bin" / "jasmind.py"),
                "--config",
                str(config["path"]),
                "--disable-http-api",
            ],
            work / "logs",
            env={"ROOT_PATH": str(root)},
            cwd=work,
        )
        async with (
            rabbit.running(),
            started(redis_proc, redis_port),
            started(daemon, config["jcli"]),
        ):
            await listening(config["smpp"], daemon)
            if "Cannot start" in daemon.stdout_path.read_text(encoding="utf-8", errors="replace"):
                raise RuntimeError(f"jasmind did not start every service: {daemon.output()}")
            await configure(config["jcli"], SYSTEM_ID, PASSWORD)
            cpu = {
                "jasmind": lambda: cpu_seconds(daemon.pid),
                "rabbitmq": rabbit.cpu,
                "redis": lambda: cpu_seconds(redis_proc.pid),
            }
            found: dict[str, Any] = {}
            for window in WINDOWS:
                entries = []
                for run in range(runs):
                    entry = await submits(config["smpp"], window, count, cpu)
                    say(
                        f"smpp jasmin window {window} run {run + 1}: "
                        f"{entry['per_s']:.0f} submit_sm/s, p99 {entry['p99_ms']:.1f} ms"
                    )
                    entries.append(entry)
                found[str(window)] = entries
            accepted = sum(e["accepted"] for entries in found.values() for e in entries)
            queued = await rabbit.queued(f"submit.sm.{CONNECTOR}")
            if queued != accepted:
                raise RuntimeError(f"Jasmin accepted {accepted} submits; its queue holds {queued}")
            return {
                "measured": True,
                "jasmin": jasmin_version(),
                "rabbitmq": (await rabbit.ctl("version")).strip(),
                "queued": queued,
                "submit": found,
            }
