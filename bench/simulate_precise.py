"""``gatewayd simulate`` with a precise arrival time on every ledger line.

The ledger's ``at`` is the modem's clock, which has whole seconds (it is also the time stamp
of the status report). Benchmarks need milliseconds, so this runs the very same command with
one addition: each ledger entry also carries ``t``, the Unix time (float) at which the
simulated network accepted the part. Arguments are those of ``gatewayd simulate``.
"""

from __future__ import annotations

import sys
import time

from gatewayd.cli import main
from gatewayd.modem.simulator import ledger
from gatewayd.modem.simulator.ledger import LedgerEntry

_plain_append = ledger.Ledger.append


def _append_with_time(self: ledger.Ledger, entry: LedgerEntry) -> None:
    _plain_append(self, {**entry, "t": time.time()})


def install() -> None:
    """Make every ledger of this process stamp its entries with ``t``."""
    ledger.Ledger.append = _append_with_time  # type: ignore[method-assign]


def uninstall() -> None:
    ledger.Ledger.append = _plain_append  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    sys.exit(main(["simulate", *sys.argv[1:]]))
