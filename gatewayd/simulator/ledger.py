"""The network's ledger: one entry per SMS part the simulated network accepted.

Entries are kept in memory and, when a path is given, appended to a file as JSON lines and
flushed at once, so another process can count what was sent ("sent exactly once").
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, TextIO

LedgerEntry = dict[str, Any]


class Ledger:
    """Append-only record of accepted parts, with waiting for a count to be reached."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.entries: list[LedgerEntry] = []
        self._file: TextIO | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")

    def append(self, entry: LedgerEntry) -> None:
        self.entries.append(entry)
        if self._file is not None:
            self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._file.flush()
        reached = [pair for pair in self._waiters if len(self.entries) >= pair[0]]
        for pair in reached:
            self._waiters.remove(pair)
            if not pair[1].done():
                pair[1].set_result(None)

    async def wait_for(self, count: int, timeout: float) -> list[LedgerEntry]:
        """The entries once there are at least ``count``; TimeoutError after ``timeout`` s."""
        if len(self.entries) < count:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            pair = (count, future)
            self._waiters.append(pair)
            try:
                await asyncio.wait_for(future, timeout)
            finally:
                if pair in self._waiters:
                    self._waiters.remove(pair)
        return list(self.entries)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
