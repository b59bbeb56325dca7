"""Files only their owner may read (mode 0600): the SQLite database and its WAL companions,
the stored secret key. Created private, and tightened when found looser (a copy, an old
version, a hand-made file)."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

PRIVATE_MODE = 0o600


def loose_mode(path: Path) -> int | None:
    """The file's permission bits when group or others may use it, else None (also when
    there is no such file)."""
    try:
        bits = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    return bits if bits & 0o077 else None


def make_private(path: Path) -> None:
    """Take group and other permissions off ``path`` when it exists and is ours to change;
    a file we cannot change is logged and left alone (``webui security-check`` reports it)."""
    bits = loose_mode(path)
    if bits is None:
        return
    try:
        os.chmod(path, bits & PRIVATE_MODE)
    except OSError as error:
        log.warning("Cannot make a file private", path=str(path), error=error.strerror)
        return
    log.warning("File was readable by other users: now private", path=str(path), was=f"{bits:04o}")


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (whatever the umask)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
