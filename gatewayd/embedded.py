"""First-minute comforts of embedded mode (``gatewayd run --web`` on one box): a first admin
account with a generated password. (Its secret key: :mod:`gatewayd.secret_key`.)"""

from __future__ import annotations

import secrets

FIRST_ADMIN = "admin"


def generate_password() -> str:
    return secrets.token_urlsafe(12)
