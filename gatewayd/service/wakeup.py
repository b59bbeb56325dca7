"""Local wake-ups without Redis: a Unix datagram socket in the data directory.

``gatewayd send`` on the same host as an embedded (SQLite, no Redis) daemon nudges it through
``<data_dir>/gatewayd.wake`` so the message leaves at once instead of at the next poll. Like
every wake-up it is only a hint: when nobody listens, nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from pathlib import Path

SOCKET_NAME = "gatewayd.wake"


def socket_path(data_dir: Path) -> Path:
    return data_dir / SOCKET_NAME


def send_local_wakeup(data_dir: Path) -> bool:
    """Nudge a daemon listening in ``data_dir``; False when none is."""
    path = socket_path(data_dir)
    if not path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"wake", str(path))
    except OSError:
        return False
    return True


class LocalWakeupListener:
    """Calls ``on_wake`` for every datagram on ``<data_dir>/gatewayd.wake``."""

    def __init__(self, data_dir: Path, on_wake: Callable[[], None]) -> None:
        self.path = socket_path(data_dir)
        self._on_wake = on_wake
        self._sock: socket.socket | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind(str(self.path))
        os.chmod(self.path, 0o660)
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        self._sock = sock

    def _readable(self) -> None:
        assert self._sock is not None
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while True:
                self._sock.recv(64)
        self._on_wake()

    def close(self) -> None:
        if self._sock is None:
            return
        asyncio.get_running_loop().remove_reader(self._sock.fileno())
        self._sock.close()
        self._sock = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
