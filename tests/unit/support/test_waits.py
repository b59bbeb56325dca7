"""The polling waits the verdicts of every tier rest on: ``eventually`` (core-flow harness),
``wait_until`` / ``wait_until_async`` (peers) and ``wait_for`` (acceptance). Each returns the
first truthy answer, keeps polling through falsy ones, lets the check's own errors through,
and fails at its deadline naming what it waited for, even when the condition would come true
just after."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.acceptance.core.procs import wait_for
from tests.integration.core_flow.harness import eventually
from tests.peers.helpers import wait_until, wait_until_async


class Probe:
    """Answers ``answers`` in turn, then ``final`` for ever; counts its calls."""

    def __init__(self, *answers: Any, final: Any = None, true_after: float | None = None) -> None:
        self.answers = list(answers)
        self.final = final
        self.calls = 0
        self.true_at = time.monotonic() + true_after if true_after is not None else None

    def sync(self) -> Any:
        self.calls += 1
        if self.true_at is not None:
            return "late" if time.monotonic() >= self.true_at else None
        return self.answers.pop(0) if self.answers else self.final

    async def async_(self) -> Any:
        return self.sync()


Wait = Callable[[Probe, float, str], Awaitable[Any]]


async def by_eventually(probe: Probe, timeout: float, what: str) -> Any:
    return await eventually(probe.async_, timeout=timeout, what=what)


async def by_wait_until(probe: Probe, timeout: float, what: str) -> Any:
    return await wait_until(probe.sync, timeout=timeout, what=what)


async def by_wait_until_async(probe: Probe, timeout: float, what: str) -> Any:
    return await wait_until_async(probe.async_, timeout=timeout, what=what)


async def by_wait_for_sync(probe: Probe, timeout: float, what: str) -> Any:
    return await wait_for(probe.sync, timeout=timeout, what=what)


async def by_wait_for_async(probe: Probe, timeout: float, what: str) -> Any:
    return await wait_for(probe.async_, timeout=timeout, what=what)


WAITS = pytest.mark.parametrize(
    "wait",
    [by_eventually, by_wait_until, by_wait_until_async, by_wait_for_sync, by_wait_for_async],
    ids=["eventually", "wait_until", "wait_until_async", "wait_for", "wait_for_async"],
)


@WAITS
async def test_the_first_truthy_answer_is_returned(wait: Wait) -> None:
    probe = Probe(None, 0, "", [], {}, False, ["found"], "after")
    assert await wait(probe, 10, "a list") == ["found"]
    assert probe.calls == 7


@WAITS
async def test_a_condition_never_true_fails_at_the_deadline_naming_it(wait: Wait) -> None:
    probe = Probe(final=0)
    started = time.monotonic()
    with pytest.raises(AssertionError, match="waiting for the planted condition"):
        await wait(probe, 0.3, "the planted condition")
    took = time.monotonic() - started
    assert 0.3 <= took < 2.0
    assert probe.calls >= 2


@WAITS
async def test_a_condition_true_only_after_the_deadline_still_fails(wait: Wait) -> None:
    probe = Probe(true_after=1.5)
    with pytest.raises(AssertionError, match="timed out"):
        await wait(probe, 0.3, "too late")


@WAITS
async def test_an_error_in_the_check_is_not_taken_for_an_answer(wait: Wait) -> None:
    def broken() -> Any:
        raise LookupError("the check itself broke")

    probe = Probe()
    probe.sync = broken  # type: ignore[method-assign]
    with pytest.raises(LookupError, match="the check itself broke"):
        await wait(probe, 5, "anything")
