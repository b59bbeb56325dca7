"""gatewayd's liveness on disk: ``<data_dir>/gatewayd.alive``, touched by the daemon's watchdog.

The task that pets systemd's watchdog also touches this file, so anything that can read the
data folder can tell a live daemon from a stuck or dead one without talking to it:
``gatewayd health`` (the container health check) compares its age with a limit. The daemon
deletes the file when it stops cleanly; after a crash it simply grows old.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

HEARTBEAT_NAME = "gatewayd.alive"
BEAT_INTERVAL = 10.0
"""Seconds between beats when systemd gives no watchdog interval (containers, a terminal)."""
MAX_AGE = 60.0
"""Age beyond which the daemon counts as stuck: the systemd unit's ``WatchdogSec``."""


def heartbeat_path(data_dir: Path) -> Path:
    return data_dir / HEARTBEAT_NAME


def beat(path: Path) -> None:
    """Record that the daemon is alive now (the file holds its process id)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n", encoding="ascii")


def age(path: Path) -> float | None:
    """Seconds since the last beat; None when there is no heartbeat file."""
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except FileNotFoundError:
        return None


def clear(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
