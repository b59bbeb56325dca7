"""The installation's secret key: the configured one (``SMSGW_SECRET_KEY``, ``[web]
secret_key``), else the one kept in ``<data_dir>/secret.key``.

The web UI derives its session key from it and gatewayd and the web UI sign operator commands
with it, so whoever asks for the key gets the same one: ``gatewayd run --web`` (which creates
the file on first use), ``gatewayd run`` (which only reads it) and ``webui security-check``
(which judges it, and the file's mode, without changing anything). The file is created with
mode 0600, tightened to 0600 when found looser, and replaced when it holds no usable key.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import replace
from pathlib import Path

import structlog

from gatewayd.config import Settings
from gatewayd.private_files import PRIVATE_MODE, make_private

log = structlog.get_logger(__name__)

SECRET_FILE = "secret.key"
MIN_SECRET_KEY_LENGTH = 32


def secret_key_path(settings: Settings) -> Path:
    """Where embedded mode keeps its generated key."""
    return Path(settings.gateway.data_dir) / SECRET_FILE


def read_key_file(path: Path) -> str | None:
    """The key stored in ``path`` as it is (no change to the file); None when there is none."""
    try:
        key = path.read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        return None
    return key or None


def with_secret_key(settings: Settings, *, create: bool) -> Settings:
    """Settings carrying the installation's key: the configured one, else the stored one.
    With ``create``, a missing, empty or too short stored key is replaced by a new one;
    without, the settings come back keyless when there is no usable stored key."""
    if settings.web.secret_key:
        return settings
    path = secret_key_path(settings)
    make_private(path)
    key = read_key_file(path)
    if key is None or len(key) < MIN_SECRET_KEY_LENGTH:
        if not create:
            return settings
        if key is not None:
            log.warning(
                "Stored secret key too short: replaced (everyone signs in again)", path=str(path)
            )
        key = _write_new_key(path)
    return replace(settings, web=replace(settings.web, secret_key=key))


def _write_new_key(path: Path) -> str:
    key = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return key
