"""`GammuThread`: one thread that owns one `gammu.StateMachine` and runs every call on it.

python-gammu calls block, so each runs on a dedicated single-thread executor and hands its
result back with `loop.call_soon_threadsafe` into an asyncio future. The await is bounded: when
the time runs out (or the awaiting task is cancelled) the future is cancelled, a result that
arrives later is dropped and logged, never delivered, and the state machine is marked *suspect*:
no further call is accepted until the owner replaces the thread (`GammuModem.initialise`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from gatewayd.modem.errors import AtTimeout, ErrorAction, ModemError

log = logging.getLogger(__name__)

T = TypeVar("T")
Machine = Any  # gammu.StateMachine has no type information


class GammuThread:
    """Runs callables `fn(machine)` one at a time on the thread that owns `machine`."""

    def __init__(self, name: str, machine: Machine) -> None:
        self.name = name
        self.machine = machine
        self.suspect: str | None = None
        self.late_results = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"gammu-{name}")
        self._closed = False

    async def call(self, what: str, fn: Callable[[Machine], T], *, timeout: float) -> T:
        """Run `fn(machine)` on the thread; raise `AtTimeout` when it takes over `timeout`."""
        if self._closed:
            raise ModemError(f"{self.name}: gammu connection is closed")
        if self.suspect is not None:
            raise ModemError(
                f"{self.name}: gammu state machine is suspect ({self.suspect}); re-initialise",
                action=ErrorAction.REINITIALISE,
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        machine = self.machine

        def hand_back(ok: bool, value: Any) -> None:
            if future.done():
                self.late_results += 1
                log.warning("%s: late gammu result of %s dropped", self.name, what)
                return
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

        def run() -> None:
            value: Any
            try:
                value, ok = fn(machine), True
            except Exception as error:  # handed to the awaiting task as it is
                value, ok = error, False
            try:
                loop.call_soon_threadsafe(hand_back, ok, value)
            except RuntimeError:  # the event loop is gone: nobody waits any more
                log.debug("%s: gammu result of %s after the loop closed", self.name, what)

        self._executor.submit(run)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self.suspect = f"{what} took over {timeout:g}s"
            message = f"{self.name}: gammu {what} gave no answer within {timeout:g}s"
            raise AtTimeout(message) from None
        except asyncio.CancelledError:
            if not future.done() or future.cancelled():
                self.suspect = f"{what} was cancelled while running"
            raise

    def close(self, finish: Callable[[Machine], None] | None = None) -> Future[None] | None:
        """Stop taking calls; `finish(machine)` (e.g. Terminate) runs after whatever is queued.
        Never blocks: returns the future of `finish` for callers that want to wait a while."""
        if self._closed:
            return None
        self._closed = True
        machine = self.machine
        done: Future[None] | None = None
        if finish is not None:

            def run_finish() -> None:
                try:
                    finish(machine)
                except Exception as error:
                    log.debug("%s: gammu close: %s", self.name, error)

            done = self._executor.submit(run_finish)
        self._executor.shutdown(wait=False, cancel_futures=False)
        return done

    async def shutdown(self, finish: Callable[[Machine], None], *, timeout: float) -> bool:
        """`close(finish)` and wait up to `timeout` for it; False when the thread is stuck."""
        done = self.close(finish)
        if done is None:
            return True
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(done)), timeout)
        except TimeoutError:
            log.warning("%s: gammu thread still busy after %gs; abandoned", self.name, timeout)
            return False
        return True
