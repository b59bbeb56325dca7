"""`GammuThread`: results come back through the loop, overruns raise and mark the machine
suspect, and a result that arrives after the deadline is dropped, never delivered."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gatewayd.modem.errors import AtTimeout, ModemError
from gatewayd.modem.gammu_thread import GammuThread


class FakeMachine:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.finished = threading.Event()
        self.terminated = threading.Event()

    def slow(self) -> str:
        self.release.wait(10)
        self.finished.set()
        return "late"


async def test_result_and_exception_are_handed_back() -> None:
    thread = GammuThread("t", FakeMachine())
    try:
        assert await thread.call("ok", lambda m: threading.current_thread().name, timeout=5)
        with pytest.raises(ZeroDivisionError):
            await thread.call("boom", lambda m: 1 // 0, timeout=5)
        caller = threading.current_thread().name
        assert (
            await thread.call("where", lambda m: threading.current_thread().name, timeout=5)
            != caller
        )
    finally:
        thread.close()


async def test_overrun_is_a_timeout_and_the_late_result_is_dropped() -> None:
    machine = FakeMachine()
    thread = GammuThread("t", machine)
    with pytest.raises(AtTimeout):
        await thread.call("slow", lambda m: m.slow(), timeout=0.05)
    assert thread.suspect is not None
    machine.release.set()
    await asyncio.to_thread(machine.finished.wait, 5)
    for _ in range(100):  # let the loop run the queued hand-back
        if thread.late_results:
            break
        await asyncio.sleep(0)
    assert thread.late_results == 1
    with pytest.raises(ModemError, match="suspect"):
        await thread.call("after", lambda m: 1, timeout=1)
    thread.close(finish=lambda m: m.terminated.set())
    assert await asyncio.to_thread(machine.terminated.wait, 5)


async def test_cancelled_call_marks_the_machine_suspect() -> None:
    machine = FakeMachine()
    thread = GammuThread("t", machine)
    task = asyncio.create_task(thread.call("slow", lambda m: m.slow(), timeout=30))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert thread.suspect is not None and "cancelled" in thread.suspect
    machine.release.set()
    thread.close()
