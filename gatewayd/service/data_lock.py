"""One gatewayd per data folder: an exclusive ``flock`` on ``<data_dir>/gatewayd.lock`` held for
the life of ``gatewayd run``.

The data folder holds what a second daemon would break: the simulated modems' links, the local
wake-up socket, the SQLite database. The kernel drops the lock when the process ends, however
it ends (``kill -9`` too), so a stale lock file never blocks a restart; the file itself stays.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_NAME = "gatewayd.lock"


class DataDirInUse(Exception):
    """Another process holds the data folder's lock; ``pid`` is the one it wrote, if readable."""

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        self.data_dir = data_dir
        self.pid = pid
        holder = f" (pid {pid})" if pid else ""
        super().__init__(f"data folder {shown(data_dir)} is in use by another gatewayd{holder}")


def shown(path: Path) -> str:
    """``path`` as a user would type it here: ``./data`` under the current folder."""
    with contextlib.suppress(ValueError):
        return f"./{path.relative_to(Path.cwd())}"
    return str(path)


class DataDirLock:
    """``acquire()`` once at start (raises :class:`DataDirInUse` or ``OSError``); ``release()``
    at the end, or let the process exit."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise DataDirInUse(self.data_dir, pid) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode("ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
