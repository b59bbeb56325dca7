"""A short-lived in-process cache of API key lookups, so a busy client costs no extra query per
request.

A revocation drops the key from this cache at once in the process that made it, and in every
other web process as soon as the bus carries the announcement (:mod:`webui.revocations`);
:data:`TTL_SECONDS` only bounds how long a lost announcement (Redis down, a revocation from the
command line in embedded mode) could leave a revoked key working."""

from __future__ import annotations

import time
from collections.abc import Callable

from webui.auth.identity import Identity

TTL_SECONDS = 5.0
MAX_ENTRIES = 10_000


class KeyCache:
    def __init__(self, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, Identity]] = {}

    def get(self, key_hash: str) -> Identity | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if entry[0] < self._clock():
            del self._entries[key_hash]
            return None
        return entry[1]

    def put(self, key_hash: str, identity: Identity) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key_hash] = (self._clock() + self.ttl, identity)

    def clear(self) -> None:
        self._entries.clear()

    def forget_key(self, key_id: int) -> None:
        for digest, (_, identity) in list(self._entries.items()):
            if identity.id == key_id:
                del self._entries[digest]
