"""Group commit: work submitted by many tasks while a transaction runs is done together in the
next one, so the fixed costs of a transaction (``BEGIN``, ``COMMIT``, a connection from the
pool, the statements' round trips) are shared by everyone waiting. Used by gatewayd (the send
pipelines' steps, status reports) and by the web (small sends).

Nobody waits for a timer: under light load a batch holds one item and costs what a transaction
of its own would; under load batches grow by themselves (up to ``max_batch``), which is when
sharing pays. One batch runs at a time unless :meth:`GroupCommit.writers_allowed` allows more:
then a second starts beside the first once ``second_writer_at`` items wait, and a writer that
finds many items waiting (a burst, or the answers of the last batch bringing the next requests
all at once) takes only its share and leaves the rest to another writer, so that one batch is
prepared while the other waits for its commit. A batch that fails
for another reason than a database outage (a deadlock with another host, a defect in one item)
is run again item by item, so one item cannot fail the others; an item the transaction itself
sets aside (its outcome a :class:`Failed`) fails alone while the rest commit. What a process
measures of its batches is its own business: it passes an ``observe`` callback.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

from gatewayd.store import DatabaseUnavailable

log = structlog.get_logger(__name__)

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

ObserveBatch = Callable[[str, int, float], None]
"""Told of each committed batch: the group's name, its items, its duration in seconds."""


@dataclass(frozen=True)
class Failed:
    """The outcome of an item its batch's transaction left out (the others committed): its
    submitter gets ``error`` raised."""

    error: Exception


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
    """Gathers submitted items and does them a batch per transaction (:meth:`transaction`)."""

    def __init__(
        self,
        name: str,
        *,
        observe: ObserveBatch | None = None,
        max_batch: int | None = None,
        second_writer_at: int = 8,
    ) -> None:
        self.name = name
        self._observe = observe
        self._max_batch = max_batch
        self._second_writer_at = second_writer_at
        self._waiting: list[Pending[Item, Outcome]] = []
        self._writers: set[asyncio.Task[None]] = set()
        self._busy = 0
        """Writers doing a batch (the others are about to take one)."""
        self.batches = 0
        self.items = 0

    async def submit(self, item: Item) -> Outcome:
        """Wait for ``item`` to be done in a batch; raise what its transaction raised."""
        pending: Pending[Item, Outcome] = Pending(item)
        self._waiting.append(pending)
        running = self._running()
        if not running or (
            len(self._waiting) >= self._second_writer_at and running < self.writers_allowed()
        ):
            self._start_writer()
        return await pending.done

    def _running(self) -> int:
        return sum(not writer.done() for writer in self._writers)

    def _start_writer(self) -> None:
        writer = asyncio.create_task(self._run(), name=self.name)
        self._writers.add(writer)
        writer.add_done_callback(self._writers.discard)

    def _take(self) -> list[Pending[Item, Outcome]]:
        """The next batch of the writer calling: everything waiting (up to ``max_batch``), or,
        when ``second_writer_at`` items wait and other writers may take part, an even share
        (a writer is started for the rest if none is about to take it)."""
        waiting = len(self._waiting)
        size = min(self._max_batch or waiting, waiting)
        sharing = self.writers_allowed() - self._busy
        if sharing > 1 and waiting >= self._second_writer_at:
            size = min(size, -(-waiting // sharing))
        batch, self._waiting = self._waiting[:size], self._waiting[size:]
        self._busy += 1
        running = self._running()
        about_to_take = running - self._busy
        if (
            len(self._waiting) >= self._second_writer_at
            and not about_to_take
            and running < self.writers_allowed()
        ):
            self._start_writer()
        return batch

    def writers_allowed(self) -> int:
        """Batches that may run at the same time (override where commits can overlap)."""
        return 1

    @abstractmethod
    async def transaction(self, batch: list[Pending[Item, Outcome]]) -> Sequence[Outcome | Failed]:
        """Do ``batch`` in one transaction; an outcome per item, in order (:class:`Failed` for
        one left out). Abandoned items are still passed: what they hold must not be lost."""

    async def abandoned(self, items: list[tuple[Item, Outcome]]) -> None:
        """Outcomes nobody waits for any more (override to undo what they hold)."""

    async def committed(self, batch: list[Item]) -> None:
        """Called once per batch of which anything was committed (also when its items were
        done one by one), with the whole batch (override to act after the commit)."""

    async def _run(self) -> None:
        batch: list[Pending[Item, Outcome]] = []
        try:
            while self._waiting:
                batch = self._take()
                try:
                    if await self._run_batch(batch):
                        await self.committed([pending.item for pending in batch])
                finally:
                    self._busy -= 1
                batch = []
        except BaseException:
            for pending in [*batch, *self._waiting]:
                pending.done.cancel()
            self._waiting = []
            raise

    async def _run_batch(self, batch: list[Pending[Item, Outcome]]) -> bool:
        """Do ``batch`` and settle its futures; True when anything was committed."""
        started = time.perf_counter()
        try:
            outcomes = await self.transaction(batch)
        except DatabaseUnavailable as error:
            for pending in batch:
                if not pending.abandoned:  # one exception each, of the kind raised
                    pending.done.set_exception(type(error)(*error.args))
            return False
        except Exception as error:
            if len(batch) == 1:
                if not batch[0].abandoned:
                    batch[0].done.set_exception(error)
                return False
            log.warning(
                "Group transaction failed; its items are done one by one",
                group=self.name,
                items=len(batch),
                error=str(error),
            )
            committed = False
            for pending in batch:
                committed = await self._run_batch([pending]) or committed
            return committed
        self.batches += 1
        self.items += len(batch)
        if self._observe is not None:
            self._observe(self.name, len(batch), time.perf_counter() - started)
        left: list[tuple[Item, Outcome]] = []
        for pending, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Failed):
                if not pending.abandoned:
                    pending.done.set_exception(outcome.error)
            elif pending.abandoned:
                left.append((pending.item, outcome))
            else:
                pending.done.set_result(outcome)
        if left:
            await self.abandoned(left)
        return True
