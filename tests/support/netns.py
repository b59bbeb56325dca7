"""A product process inside a private network namespace, and ``curl`` run beside it, so the
product sees its client at a private, non-loopback address (``10.99.0.1``), as a machine on the
LAN would be seen.

:class:`LanServer` starts the command under ``unshare -n`` with ``lo`` up and ``10.99.0.1/8``
added to it; :meth:`LanServer.curl` runs ``curl`` inside the same namespace through
``nsenter --net=/proc/<pid>/ns/net``. Nothing leaves the namespace: the test machine's own
network, PostgreSQL and Redis are not reachable from inside (use SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

LAN_ADDRESS = "10.99.0.1"
SETUP = f'ip link set lo up && ip addr add {LAN_ADDRESS}/8 dev lo && exec "$@"'


@dataclass(frozen=True)
class CurlAnswer:
    status: int
    headers: dict[str, str]
    """Lower-case names; the last value of a repeated header."""
    body: str


@dataclass
class LanServer:
    """``command`` running in its own network namespace; its stdout and stderr go to files."""

    command: Sequence[str]
    env: dict[str, str]
    directory: Path
    cwd: Path | None = None
    process: asyncio.subprocess.Process | None = None
    cookie_jar: Path = field(init=False)

    def __post_init__(self) -> None:
        self.cookie_jar = self.directory / "cookies.txt"

    @property
    def stdout_path(self) -> Path:
        return self.directory / "server.out"

    @property
    def stderr_path(self) -> Path:
        return self.directory / "server.err"

    async def start(self) -> None:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                "unshare",
                "-n",
                "sh",
                "-c",
                SETUP,
                "sh",
                *self.command,
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=err,
            )

    async def curl(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        timeout: float = 20,
    ) -> CurlAnswer:
        """One request from inside the namespace, keeping cookies between calls."""
        assert self.process is not None and self.process.returncode is None, self.output()
        args = [
            "nsenter",
            f"--net=/proc/{self.process.pid}/ns/net",
            "curl",
            "-sS",
            "-D",
            "-",
            "-b",
            str(self.cookie_jar),
            "-c",
            str(self.cookie_jar),
            "--max-time",
            str(timeout),
        ]
        for name, value in (headers or {}).items():
            args += ["-H", f"{name}: {value}"]
        for name, value in (data or {}).items():
            args += ["--data-urlencode", f"{name}={value}"]
        process = await asyncio.create_subprocess_exec(
            *args, url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout + 5)
        if process.returncode != 0:
            raise ConnectionError(f"curl {url}: {err.decode().strip()}")
        return parse_curl_output(out.decode("utf-8", errors="replace"))

    async def wait_until_serving(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.returncode is not None:
                raise AssertionError(f"the server exited: {self.output()}")
            with contextlib.suppress(ConnectionError):
                answer = await self.curl(url, timeout=2)
                if answer.status < 500:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout} s: {self.output()}")
            await asyncio.sleep(0.2)

    def output(self) -> str:
        texts = (p.read_text(errors="replace") for p in (self.stdout_path, self.stderr_path))
        return "\n".join(texts)[-3000:]

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def parse_curl_output(text: str) -> CurlAnswer:
    """``curl -D -`` output: the header block (the last one, after any ``100 Continue``), then
    the body."""
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    while head.startswith("HTTP/") and " 100 " in head.splitlines()[0]:
        head, _, body = body.partition("\n\n")
    lines = head.splitlines()
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return CurlAnswer(status, headers, body)
