"""Serving a `SimulatedModem` on a pseudo-terminal, reachable through a stable symlink.

The slave side is put in raw mode (no echo, no line editing by the tty layer: echo is the
modem's business) and ``DIR/modem{i}`` points at it. The port keeps its own descriptor of the
slave open, so clients may open and close the device at will without the master seeing a
hang-up. Closing the port is the "unplugged" fault: the symlink disappears and clients get
EIO; opening it again makes a new pty under the same name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from pathlib import Path

from gatewayd.simulator.device import SimulatedModem

READ_SIZE = 65536
MAX_PENDING_OUTPUT = 1 << 20


class PtyPort:
    """One modem on one pty; :meth:`open` and :meth:`close` may alternate any number of times."""

    def __init__(self, modem: SimulatedModem, link: Path) -> None:
        self.modem = modem
        self.link = link
        self.slave_path: str | None = None
        self._master = -1
        self._slave = -1
        self._pending = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def is_open(self) -> bool:
        return self._master >= 0

    def open(self) -> None:
        if self.is_open:
            return
        self._loop = asyncio.get_running_loop()
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.slave_path = os.ttyname(slave)
        temporary = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        os.symlink(self.slave_path, temporary)
        os.replace(temporary, self.link)
        self._loop.add_reader(master, self._readable)
        self.modem.attach(self._write)

    def close(self) -> None:
        if not self.is_open:
            return
        self.modem.detach()
        assert self._loop is not None
        self._loop.remove_reader(self._master)
        self._loop.remove_writer(self._master)
        with contextlib.suppress(OSError):
            if os.readlink(self.link) == self.slave_path:
                self.link.unlink()
        os.close(self._master)
        os.close(self._slave)
        self._master = self._slave = -1
        self._pending.clear()

    def _readable(self) -> None:
        try:
            data = os.read(self._master, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        if data:
            self.modem.feed(data)

    def _write(self, data: bytes) -> None:
        if self._pending:
            if len(self._pending) < MAX_PENDING_OUTPUT:
                self._pending += data
            return
        try:
            written = os.write(self._master, data)
        except (BlockingIOError, InterruptedError):
            written = 0
        except OSError:
            return
        if written < len(data):
            self._pending += data[written:]
            assert self._loop is not None
            self._loop.add_writer(self._master, self._drain)

    def _drain(self) -> None:
        try:
            written = os.write(self._master, self._pending)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            written = len(self._pending)
        del self._pending[:written]
        if not self._pending and self._loop is not None:
            self._loop.remove_writer(self._master)
