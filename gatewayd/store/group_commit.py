"""Group commit: work submitted by many tasks while a transaction runs is done together in the
next one, so the fixed costs of a transaction (``BEGIN``, ``COMMIT``, a connection from the
pool, the statements' round trips) are shared by everyone waiting.

One batch runs at a time. Under light load a batch holds one item and costs what a
transaction of its own would; under load batches grow by themselves, which is when sharing
pays. A batch that fails for another reason than a database outage (a deadlock with another
host, a defect in one item) is run again item by item, so one item cannot fail the others.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

from gatewayd.metrics import GROUP_COMMIT_ITEMS, GROUP_COMMIT_SECONDS
from gatewayd.store import DatabaseUnavailable

log = structlog.get_logger(__name__)

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


@dataclass
class Pending(Generic[Item, Outcome]):
    """One submitted item and the future its submitter awaits."""

    item: Item
    done: asyncio.Future[Outcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def abandoned(self) -> bool:
        """True when the submitter stopped waiting (cancelled)."""
        return self.done.done()


class GroupCommit(ABC, Generic[Item, Outcome]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._waiting: list[Pending[Item, Outcome]] = []
        self._runner: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0

    async def submit(self, item: Item) -> Outcome:
        """Wait for ``item`` to be done in a batch; raise what its transaction raised."""
        pending: Pending[Item, Outcome] = Pending(item)
        self._waiting.append(pending)
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name=self.name)
        return await pending.done

    @abstractmethod
    async def transaction(self, batch: list[Pending[Item, Outcome]]) -> list[Outcome]:
        """Do ``batch`` in one transaction; an outcome per item, in order. Abandoned items
        are still passed: what they hold must not be lost."""

    async def abandoned(self, items: list[tuple[Item, Outcome]]) -> None:
        """Outcomes nobody waits for any more (override to undo what they hold)."""

    async def _run(self) -> None:
        batch: list[Pending[Item, Outcome]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._run_batch(batch)
                batch = []
        except BaseException:
            for pending in [*batch, *self._waiting]:
                pending.done.cancel()
            self._waiting = []
            raise

    async def _run_batch(self, batch: list[Pending[Item, Outcome]]) -> None:
        started = time.perf_counter()
        try:
            outcomes = await self.transaction(batch)
        except DatabaseUnavailable as error:
            for pending in batch:
                if not pending.abandoned:
                    pending.done.set_exception(DatabaseUnavailable(str(error)))
            return
        except Exception as error:
            if len(batch) == 1:
                if not batch[0].abandoned:
                    batch[0].done.set_exception(error)
                return
            log.warning(
                "Group transaction failed; its items are done one by one",
                group=self.name,
                items=len(batch),
                error=str(error),
            )
            for pending in batch:
                await self._run_batch([pending])
            return
        self.batches += 1
        self.items += len(batch)
        GROUP_COMMIT_SECONDS.labels(self.name).observe(time.perf_counter() - started)
        GROUP_COMMIT_ITEMS.labels(self.name).observe(len(batch))
        left: list[tuple[Item, Outcome]] = []
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.abandoned:
                left.append((pending.item, outcome))
            else:
                pending.done.set_result(outcome)
        if left:
            await self.abandoned(left)
