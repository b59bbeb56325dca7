"""Process, polling and config plumbing shared by the peer tests (and later the benchmarks).

Owns: polling for a condition with a deadline, running one external program with its output
captured to files, rendering the config templates of ``tests/peers/configs/``, and running
``gatewayd simulate`` as a subprocess (its modems, its ledger, its control API; its control
port from :func:`tests.support.ports.free_port`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import string
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from tests.support import tools
from tests.support.ports import free_port

CONFIG_DIR = Path(__file__).parent / "configs"
REPO_ROOT = Path(__file__).resolve().parents[2]
POLL_INTERVAL_S = 0.1

T = TypeVar("T")


def gatewayd_command() -> list[str]:
    """The ``gatewayd`` console script of the virtualenv running the tests."""
    beside_python = Path(sys.executable).parent / "gatewayd"
    if beside_python.exists():
        return [str(beside_python)]
    return [str(REPO_ROOT / ".venv" / "bin" / "gatewayd")]


class ConditionTimeout(AssertionError):
    """The polled condition did not come true before the deadline."""


async def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    diagnostics: Callable[[], str] | None = None,
) -> T:
    """Poll ``probe`` until it returns something truthy; return that value.

    Raises ``ConditionTimeout`` naming ``what`` (and the diagnostics text, typically the
    tail of the peer's log) when the deadline passes first.
    """

    async def probe_now() -> T | None:
        return probe()

    return await wait_until_async(probe_now, timeout=timeout, what=what, diagnostics=diagnostics)


async def wait_until_async(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float,
    what: str,
    diagnostics: Callable[[], str] | None = None,
) -> T:
    """``wait_until`` for a probe that must await (an HTTP request, a command)."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = await probe()
        if outcome:
            return outcome
        if time.monotonic() >= deadline:
            details = f"\n{diagnostics()}" if diagnostics else ""
            raise ConditionTimeout(f"timed out after {timeout:.0f} s waiting for {what}{details}")
        await asyncio.sleep(POLL_INTERVAL_S)


def render_config(template_name: str, destination: Path, **values: object) -> Path:
    """Fill ``configs/<template_name>`` (``$name`` placeholders) and write it to ``destination``."""
    template = string.Template((CONFIG_DIR / template_name).read_text(encoding="utf-8"))
    text = template.substitute({key: str(value) for key, value in values.items()})
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(text, encoding="utf-8")
    return destination


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a text file, or a note that it does not exist."""
    if not path.exists():
        return f"[{path} does not exist]"
    content = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return f"--- {path} (last {lines} lines)\n" + "\n".join(content[-lines:])


def listening_on_loopback(port: int) -> bool:
    """Whether some process listens on 127.0.0.1:``port`` (read from /proc, no connection made)."""
    wanted = f"0100007F:{port:04X}"
    with open("/proc/net/tcp", encoding="ascii") as table:
        for line in table:
            fields = line.split()
            if len(fields) > 3 and fields[1] == wanted and fields[3] == "0A":
                return True
    return False


def files_in(directory: Path) -> list[Path]:
    """Regular files of ``directory`` whose names do not start with a dot, sorted."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))


def require_programs(*names: str) -> None:
    """Fail the calling test, in one line naming the Debian package, when one of the named
    programs is not installed (never a skip)."""
    tools.require_programs(*names)


@dataclass
class ManagedProcess:
    """One external program started in its own process group, output captured to files."""

    name: str
    argv: Sequence[str]
    log_dir: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    process: asyncio.subprocess.Process | None = field(default=None, init=False)

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"{self.name}.stdout"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"{self.name}.stderr"

    async def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env={**os.environ, **(self.env or {})},
                cwd=self.cwd,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds; return the exit code."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                await self.process.wait()
        return self.process.returncode

    def output(self, lines: int = 40) -> str:
        return "\n".join([tail(self.stdout_path, lines), tail(self.stderr_path, lines)])


@dataclass
class CommandResult:
    argv: Sequence[str]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.argv)}\nexit {self.returncode}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


async def run_command(
    argv: Sequence[str], *, timeout: float, stdin: bytes | None = None
) -> CommandResult:
    """Run a short-lived program to completion (killed at ``timeout``) and capture its output."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        out, err = await process.communicate()
        result = CommandResult(argv, -9, out.decode(errors="replace"), err.decode(errors="replace"))
        message = f"command timed out after {timeout} s\n{result.describe()}"
        raise ConditionTimeout(message) from None
    assert process.returncode is not None
    return CommandResult(
        argv, process.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    )


@dataclass(frozen=True)
class SimulatedModem:
    """One modem as announced on ``gatewayd simulate``'s stdout."""

    index: int
    device: str
    number: str
    imei: str
    imsi: str


@dataclass
class Simulator:
    """A running ``gatewayd simulate``: its modems, ledger file and control API."""

    process: ManagedProcess
    modems: list[SimulatedModem]
    ledger_path: Path
    control_url: str

    def ledger(self) -> list[dict[str, Any]]:
        """Every SMS part the simulated network accepted so far (the ledger file's lines)."""
        if not self.ledger_path.exists():
            return []
        entries = []
        for line in self.ledger_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entries.append(json.loads(line))
        return entries

    def ledger_entries_to(self, number: str) -> list[dict[str, Any]]:
        return [entry for entry in self.ledger() if entry.get("to") == number]

    async def wait_for_ledger_text(
        self,
        text: str,
        *,
        timeout: float,
        what: str,
        diagnostics: Callable[[], str] | None = None,
    ) -> list[dict[str, Any]]:
        """Wait until at least one ledger entry carries ``text``; return all that do."""

        def matching() -> list[dict[str, Any]]:
            return [entry for entry in self.ledger() if entry.get("text") == text]

        return await wait_until(matching, timeout=timeout, what=what, diagnostics=diagnostics)

    async def inject_incoming(self, modem_index: int, sender: str, text: str) -> None:
        """Make the simulated network deliver an SMS from ``sender`` to one modem."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.control_url}/modems/{modem_index}/incoming",
                json={"from": sender, "text": text},
            ) as response,
        ):
            body = await response.text()
            assert response.status < 300, f"control API refused the injection: {body}"

    def output(self) -> str:
        return self.process.output()


async def start_simulator(
    work_dir: Path,
    *,
    modems: int = 2,
    latency_ms: int = 20,
    report_delay_ms: int = 200,
    profile: str | None = None,
    startup_timeout: float = 20.0,
) -> Simulator:
    """Start ``gatewayd simulate`` with a ledger and a control port; wait for its modems."""
    device_dir = work_dir / "dev"
    device_dir.mkdir(parents=True, exist_ok=True)
    ledger_path = work_dir / "ledger.jsonl"
    control_port = free_port()
    argv = [
        *gatewayd_command(),
        "simulate",
        "--modems",
        str(modems),
        "--dir",
        str(device_dir),
        "--latency-ms",
        str(latency_ms),
        "--report-delay-ms",
        str(report_delay_ms),
        "--ledger",
        str(ledger_path),
        "--control",
        f"127.0.0.1:{control_port}",
    ]
    if profile is not None:
        argv += ["--profile", profile]
    process = ManagedProcess("simulator", argv, work_dir / "logs")
    await process.start()

    def announced_modems() -> list[SimulatedModem] | None:
        lines = process.stdout_path.read_text(encoding="utf-8").splitlines()
        announced = [json.loads(line) for line in lines if line.startswith("{")]
        if len(announced) < modems:
            if not process.running:
                raise AssertionError(f"gatewayd simulate exited early\n{process.output()}")
            return None
        return [
            SimulatedModem(i, m["device"], m["number"], m["imei"], m["imsi"])
            for i, m in enumerate(announced[:modems])
        ]

    found = await wait_until(
        announced_modems,
        timeout=startup_timeout,
        what="the simulator's modem lines",
        diagnostics=process.output,
    )
    simulator = Simulator(process, found, ledger_path, f"http://127.0.0.1:{control_port}")

    async def control_answers() -> bool:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{simulator.control_url}/ledger") as response,
            ):
                return response.status == 200
        except aiohttp.ClientError:
            return False

    await wait_until_async(
        control_answers,
        timeout=startup_timeout,
        what="the simulator's control API",
        diagnostics=process.output,
    )
    return simulator
