"""Password hashing (argon2id via argon2-cffi), generated passwords, and
:class:`PasswordWork`: the argon2 work of a web process, done off the event loop.

One argon2 check costs tens of milliseconds of CPU; on the event loop, a burst of sign-ins
stalls every request (and in embedded mode the modems). :class:`PasswordWork` runs hashes and
checks in a small thread pool of its own (argon2-cffi releases the GIL; the threads run at a
lower CPU priority than the loop), at most
``concurrency`` at once; up to ``waiting`` more wait their turn, and past that a check is
refused at once with :class:`PasswordWorkBusy` (the pages answer 503) instead of queueing
without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

T = TypeVar("T")

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """What a name without a password is checked against, so that it takes a real check's
    time. Made on first use, not at import: one argon2 hash is the dearest thing a command
    would otherwise pay on start; a server makes it at once in its password threads."""
    return _hasher.hash(secrets.token_urlsafe(16))


class WeakPassword(ValueError):
    """A password refused by the policy; ``str()`` says why in one line."""


def check_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"the password may have at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip() != password or not password.strip():
        raise WeakPassword("the password must not start or end with spaces")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no hash, spends the same time and says False."""
    try:
        matches = _hasher.verify(password_hash or _dummy_hash(), password)
        return matches and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random password people can type: 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


def password_fingerprint(password_hash: str) -> str:
    """A short digest of a hash (for tests and logs that must not show the hash)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _yield_cpu() -> None:
    """Run this worker thread (and the threads argon2 starts from it) at a lower priority, so
    on a busy CPU the event loop — the modems' too in embedded mode — still comes first."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class PasswordWorkBusy(RuntimeError):
    """Too many password checks are already running or waiting: try again shortly."""


class PasswordWork:
    """argon2 hashes and checks in threads, at most ``concurrency`` at once (None: in the
    loop's default executor without limits, for the command line and tests)."""

    def __init__(self, concurrency: int | None = 2, waiting: int = 32) -> None:
        self.concurrency = concurrency
        self.waiting_limit = waiting
        self._slots = asyncio.Semaphore(concurrency) if concurrency else None
        self._waiting = 0
        self._pool = (
            ThreadPoolExecutor(concurrency, thread_name_prefix="argon2", initializer=_yield_cpu)
            if concurrency
            else None
        )
        if self._pool is not None:
            self._pool.submit(_dummy_hash)

    async def _run(self, work: Callable[..., T], *args: str | None) -> T:
        loop = asyncio.get_running_loop()
        if self._slots is None:
            return await loop.run_in_executor(None, work, *args)
        if self._slots.locked() and self._waiting >= self.waiting_limit:
            raise PasswordWorkBusy("too many password checks at once")
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            return await loop.run_in_executor(self._pool, work, *args)
        finally:
            self._slots.release()

    async def hash(self, password: str) -> str:
        return await self._run(hash_password, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """As :func:`verify_password`, off the event loop."""
        return await self._run(verify_password, password_hash, password)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


UNLIMITED = PasswordWork(None)
"""Off the loop without limits: for the command line and for tests."""
