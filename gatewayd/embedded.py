"""First-minute comforts of embedded mode (``gatewayd run --web`` on one box): a secret key
kept in the data directory, and a first admin account with a generated password."""

from __future__ import annotations

import os
import secrets
from dataclasses import replace
from pathlib import Path

from gatewayd.config import Settings

SECRET_FILE = "secret.key"
FIRST_ADMIN = "admin"


def with_secret_key(settings: Settings) -> Settings:
    """Settings with a secret key: the configured one, else one stored in the data directory
    (created with mode 0600 on first use, so sessions survive restarts)."""
    if settings.web.secret_key:
        return settings
    path = Path(settings.gateway.data_dir) / SECRET_FILE
    if path.exists():
        key = path.read_text().strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
    return replace(settings, web=replace(settings.web, secret_key=key))


def generate_password() -> str:
    return secrets.token_urlsafe(12)
