"""Group commit: what arrives while a batch runs is done together next; one bad item cannot
fail the others; an outage reaches every waiter; abandoned outcomes are handed back; where two
writers are allowed, a burst is shared between two batches that run together."""

from __future__ import annotations

import asyncio

import pytest

from gatewayd.store import DatabaseUnavailable
from gatewayd.store.group_commit import GroupCommit, Pending


class Doubler(GroupCommit[int, int]):
    """Doubles numbers; a batch holding a negative number fails; 0 means the database is
    down. The first batch waits for ``release``."""

    def __init__(self, max_batch: int | None = None, writers: int = 1) -> None:
        super().__init__("doubler", observe=self.observe, max_batch=max_batch, second_writer_at=8)
        self.writers = writers
        self.running = 0
        self.most_running = 0
        self.observed: list[tuple[str, int]] = []
        self.committed_batches: list[list[int]] = []
        self.batches_seen: list[list[int]] = []
        self.started = asyncio.Event()
        self.second_started = asyncio.Event()
        self.release = asyncio.Event()
        self.left: list[tuple[int, int]] = []

    async def transaction(self, batch: list[Pending[int, int]]) -> list[int]:
        items = [pending.item for pending in batch]
        self.batches_seen.append(items)
        self.started.set()
        if len(self.batches_seen) == 2:
            self.second_started.set()
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.release.wait()
        finally:
            self.running -= 1
        if 0 in items:
            raise DatabaseUnavailable("connection refused")
        if any(item < 0 for item in items):
            raise ValueError(f"negative in {items}")
        return [item * 2 for item in items]

    async def abandoned(self, items: list[tuple[int, int]]) -> None:
        self.left += items

    async def committed(self, batch: list[int]) -> None:
        self.committed_batches.append(batch)

    def writers_allowed(self) -> int:
        return self.writers

    def observe(self, group: str, items: int, seconds: float) -> None:
        assert seconds >= 0
        self.observed.append((group, items))


async def test_items_arriving_during_a_batch_share_the_next() -> None:
    group = Doubler()
    first = asyncio.create_task(group.submit(1))
    await asyncio.wait_for(group.started.wait(), 5)
    rest = [asyncio.create_task(group.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)  # let them queue behind the running batch
    group.release.set()
    assert await asyncio.wait_for(asyncio.gather(first, *rest), 5) == [2, 4, 6, 8]
    assert group.batches_seen == [[1], [2, 3, 4]]
    assert (group.batches, group.items) == (2, 4)


async def test_a_failing_item_fails_alone() -> None:
    group = Doubler()
    group.release.set()
    results = await asyncio.wait_for(
        asyncio.gather(*(group.submit(n) for n in (5, -1, 6)), return_exceptions=True), 5
    )
    assert results[0] == 10 and results[2] == 12
    assert isinstance(results[1], ValueError)
    assert group.batches_seen[0] == [5, -1, 6]
    assert group.batches_seen[1:] == [[5], [-1], [6]]


async def test_an_outage_reaches_every_waiter() -> None:
    group = Doubler()
    group.release.set()
    results = await asyncio.wait_for(
        asyncio.gather(*(group.submit(n) for n in (0, 7)), return_exceptions=True), 5
    )
    assert all(isinstance(r, DatabaseUnavailable) for r in results)
    assert group.batches_seen == [[0, 7]]  # not retried one by one: the database is away


async def test_an_abandoned_outcome_is_handed_back() -> None:
    group = Doubler()
    waiting = asyncio.create_task(group.submit(9))
    await asyncio.wait_for(group.started.wait(), 5)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    kept = asyncio.create_task(group.submit(3))
    group.release.set()
    assert await asyncio.wait_for(kept, 5) == 6
    assert group.left == [(9, 18)]


async def test_batches_are_capped_and_observed() -> None:
    group = Doubler(max_batch=2)
    first = asyncio.create_task(group.submit(1))
    await asyncio.wait_for(group.started.wait(), 5)
    rest = [asyncio.create_task(group.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    group.release.set()
    assert await asyncio.wait_for(asyncio.gather(first, *rest), 5) == [2, 4, 6, 8]
    assert group.batches_seen == [[1], [2, 3], [4]]
    assert group.observed == [("doubler", 1), ("doubler", 2), ("doubler", 1)]
    assert group.committed_batches == [[1], [2, 3], [4]]


async def test_a_batch_done_one_by_one_is_committed_once_and_a_failed_one_not() -> None:
    group = Doubler()
    group.release.set()
    await asyncio.wait_for(
        asyncio.gather(*(group.submit(n) for n in (5, -1, 6)), return_exceptions=True), 5
    )
    assert group.committed_batches == [[5, -1, 6]]
    with pytest.raises(ValueError):
        await asyncio.wait_for(group.submit(-2), 5)
    assert group.committed_batches == [[5, -1, 6]]


async def test_a_burst_is_shared_by_two_writers_that_run_together() -> None:
    group = Doubler(writers=2)
    burst = [asyncio.create_task(group.submit(n)) for n in range(1, 41)]
    await asyncio.wait_for(group.second_started.wait(), 5)
    assert group.most_running == 2  # the second batch started before the first finished
    group.release.set()
    assert await asyncio.wait_for(asyncio.gather(*burst), 5) == [2 * n for n in range(1, 41)]
    assert group.batches_seen == [list(range(1, 21)), list(range(21, 41))]


async def test_one_writer_takes_the_whole_burst() -> None:
    group = Doubler(writers=1)
    group.release.set()
    burst = [group.submit(n) for n in range(1, 41)]
    assert await asyncio.wait_for(asyncio.gather(*burst), 5) == [2 * n for n in range(1, 41)]
    assert group.batches_seen == [list(range(1, 41))]


async def test_a_burst_behind_a_running_batch_goes_whole_to_the_second_writer() -> None:
    group = Doubler(writers=2)
    first = asyncio.create_task(group.submit(1))
    await asyncio.wait_for(group.started.wait(), 5)
    burst = [asyncio.create_task(group.submit(n)) for n in range(2, 32)]
    await asyncio.wait_for(group.second_started.wait(), 5)
    group.release.set()
    await asyncio.wait_for(asyncio.gather(first, *burst), 5)
    assert group.batches_seen == [[1], list(range(2, 32))]
    assert group.most_running == 2


async def test_a_small_burst_is_not_split() -> None:
    group = Doubler(writers=2)
    group.release.set()
    burst = [group.submit(n) for n in range(1, 8)]  # fewer than second_writer_at (8)
    await asyncio.wait_for(asyncio.gather(*burst), 5)
    assert group.batches_seen == [list(range(1, 8))]


async def test_a_burst_of_second_writer_at_is_split() -> None:
    group = Doubler(writers=2)
    burst = [asyncio.create_task(group.submit(n)) for n in range(1, 11)]
    await asyncio.wait_for(group.second_started.wait(), 5)
    group.release.set()
    await asyncio.wait_for(asyncio.gather(*burst), 5)
    assert group.batches_seen == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
