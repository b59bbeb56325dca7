"""The fence: how long a renewal lets a host write to its modems, by its own clock."""

from __future__ import annotations

import math

import pytest

from gatewayd.queue.lease import LeaseLost
from gatewayd.worker.fence import Fence


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_renewal_opens_the_fence_until_its_deadline() -> None:
    clock = Clock()
    fence = Fence("a", clock=clock)
    assert not fence.is_open() and not fence.valid(None)
    fence.granted(1, asked_at=99.0, valid_for=10.0)  # asked a second ago: counted from then
    assert fence.is_open() and fence.valid(1) and not fence.valid(2)
    assert fence.remaining() == pytest.approx(9.0)
    clock.now = 108.999
    assert fence.valid(1)
    clock.now = 109.0
    assert not fence.is_open() and not fence.valid(1)


def test_open_for_counts_from_the_last_reopening() -> None:
    clock = Clock()
    fence = Fence("a", clock=clock)
    fence.granted(1, asked_at=100.0, valid_for=5.0)
    clock.now = 104.0
    fence.granted(1, asked_at=104.0, valid_for=5.0)  # renewed in time: no break
    assert fence.open_for() == pytest.approx(4.0)
    clock.now = 110.0  # closed at 109
    assert fence.open_for() == 0.0
    fence.granted(1, asked_at=110.0, valid_for=5.0)
    clock.now = 111.0
    assert fence.open_for() == pytest.approx(1.0)


def test_a_late_answer_never_shortens_the_deadline() -> None:
    clock = Clock()
    fence = Fence("a", clock=clock)
    fence.granted(1, asked_at=100.0, valid_for=10.0)
    fence.granted(1, asked_at=95.0, valid_for=10.0)  # an older renewal answered last
    assert fence.remaining() == pytest.approx(10.0)


def test_a_new_epoch_replaces_the_old_one() -> None:
    clock = Clock()
    fence = Fence("a", clock=clock)
    fence.granted(1, asked_at=100.0, valid_for=10.0)
    fence.lost(2)  # not the current epoch: nothing happens
    assert fence.valid(1)
    fence.lost(1)
    assert (fence.epoch, fence.lost_epoch) == (None, 1)
    assert not fence.valid(1) and not fence.is_open()
    fence.granted(2, asked_at=100.0, valid_for=10.0)
    assert fence.valid(2) and not fence.valid(1) and fence.lost_epoch is None


async def test_the_database_guard_refuses_other_epochs_before_asking() -> None:
    fence = Fence("a")
    fence.granted(3, asked_at=0.0, valid_for=math.inf)
    with pytest.raises(LeaseLost, match="epoch 2"):
        await fence.guard(None, 2)  # type: ignore[arg-type]  # refused before any query


def test_an_unfenced_fence_lets_everything_through() -> None:
    fence = Fence.unfenced()
    assert fence.is_open() and fence.valid(None) and fence.open_for() == math.inf
