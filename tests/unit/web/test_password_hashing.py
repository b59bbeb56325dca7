"""The argon2 stand-in hash for names without a password: made on first use or by a server's
password threads, never at import (every command importing the module paid one hash)."""

from __future__ import annotations

import subprocess
import sys

from webui.auth import passwords
from webui.auth.passwords import PasswordWork, hash_password, verify_password


def test_importing_the_commands_computes_no_hash() -> None:
    script = (
        "import webui.cli.run, webui.auth.passwords as p\n"
        "print(p._dummy_hash.cache_info().currsize)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "0", result.stderr


def test_a_missing_hash_is_checked_against_the_stand_in_and_refused() -> None:
    passwords._dummy_hash.cache_clear()
    assert verify_password(None, "anything at all") is False
    assert passwords._dummy_hash.cache_info().currsize == 1
    stand_in = passwords._dummy_hash()
    assert verify_password(stand_in, "anything at all") is False
    assert verify_password(hash_password("a real password"), "a real password") is True


def test_a_server_s_password_threads_make_the_stand_in_at_once() -> None:
    passwords._dummy_hash.cache_clear()
    work = PasswordWork(1)
    assert work._pool is not None
    work._pool.shutdown(wait=True)
    assert passwords._dummy_hash.cache_info().currsize == 1
