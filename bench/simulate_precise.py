"""``gatewayd simulate`` with precise times: on every ledger line, and for the answers.

The ledger's ``at`` is the modem's clock, which has whole seconds (it is also the time stamp
of the status report). Benchmarks need milliseconds, so this runs the very same command with
two additions: each ledger entry also carries ``t``, the Unix time (float) at which the
simulated network accepted the part; and a modem's answer comes when its latency is up, not
up to a millisecond later as the event loop's timers would have it (they sleep in whole
milliseconds): the timer is set a little early and the loop is given turns until the moment
comes. At 50 ms that millisecond alone was 2 % of the limit being measured. Arguments are
those of ``gatewayd simulate``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable

from gatewayd.cli import main
from gatewayd.simulator import device, ledger
from gatewayd.simulator.ledger import LedgerEntry

_plain_append = ledger.Ledger.append


def _append_with_time(self: ledger.Ledger, entry: LedgerEntry) -> None:
    _plain_append(self, {**entry, "t": time.time()})


EARLY = 0.0015
"""How long before the answer is due the timer fires; the rest is spent giving the loop turns."""


class PreciseAnswer:
    """Call ``callback`` at ``delay`` from now, to within the length of one loop turn."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, delay: float, callback: Callable[[], None]
    ) -> None:
        self._loop = loop
        self._due = time.monotonic() + delay
        self._callback = callback
        self._handle: asyncio.Handle = loop.call_later(max(0.0, delay - EARLY), self._turn)

    def _turn(self) -> None:
        if time.monotonic() >= self._due:
            self._callback()
        else:
            self._handle = self._loop.call_soon(self._turn)

    def cancel(self) -> None:
        self._handle.cancel()


_plain_schedule = device.schedule_answer


def install() -> None:
    """Make every ledger of this process stamp its entries with ``t``, and answers come on
    time."""
    ledger.Ledger.append = _append_with_time  # type: ignore[method-assign]
    device.schedule_answer = PreciseAnswer


def uninstall() -> None:
    ledger.Ledger.append = _plain_append  # type: ignore[method-assign]
    device.schedule_answer = _plain_schedule


if __name__ == "__main__":
    install()
    sys.exit(main(["simulate", *sys.argv[1:]]))
