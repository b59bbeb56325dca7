"""This host's lease as its modem workers see it: the epoch it holds, and until when (by this
process's monotonic clock) it may write to its modems.

The lease keeper (:mod:`gatewayd.service.lease`) renews the lease in the database and tells
the fence :meth:`Fence.granted`: the renewal was asked at ``asked_at`` (taken before the
renewal's transaction began), so the expiry the database set is at least ``asked_at +
expiry`` by any clock that runs at the rate of ours, and the fence lets modems be written
until ``asked_at + expiry - safety_margin``. Checking it costs a clock read, no database round
trip: the send path asks :meth:`Fence.valid` right before each ``AT+CMGS`` and its PDU, and
the database writes of the send path name the epoch (:data:`gatewayd.queue.lease.LEASE_HELD`,
:meth:`Fence.guard`), so a transaction that would write for an epoch the host no longer holds
writes nothing.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.lease import LeaseLost, guard

Clock = Callable[[], float]


class Fence:
    """See the module docstring. A fence made by :meth:`unfenced` is always open and guards
    nothing (a pipeline or recorder used on its own, without a lease)."""

    def __init__(self, host: str, *, clock: Clock = time.monotonic, fenced: bool = True) -> None:
        self.host = host
        self.epoch: int | None = None
        self.lost_epoch: int | None = None
        """The epoch a write was refused under, until the keeper rejoins."""
        self._clock = clock
        self._fenced = fenced
        self._valid_until = -math.inf
        self._open_since: float | None = None
        self._granted = asyncio.Event()

    @classmethod
    def unfenced(cls, host: str = "") -> Fence:
        return cls(host, fenced=False)

    @property
    def fenced(self) -> bool:
        return self._fenced

    def granted(self, epoch: int, *, asked_at: float, valid_for: float) -> None:
        """The lease is held at ``epoch``, renewed by a request made at ``asked_at`` (this
        clock): modems may be written until ``asked_at + valid_for``."""
        now = self._clock()
        if epoch != self.epoch or now >= self._valid_until:
            self._open_since = now
            self._valid_until = -math.inf
        self.epoch = epoch
        self.lost_epoch = None
        self._valid_until = max(self._valid_until, asked_at + valid_for)
        self._granted.set()
        self._granted = asyncio.Event()

    def revoke(self) -> None:
        """The lease is given up or lost: nothing more is written under its epoch."""
        self.epoch = None
        self._valid_until = -math.inf
        self._open_since = None

    def lost(self, epoch: int | None) -> None:
        """The database refused a write under ``epoch`` (another host took this one's work
        over): when that is the current epoch, every modem stops now, not at the deadline;
        the lease keeper rejoins at its next round (:attr:`lost_epoch`)."""
        if epoch is not None and epoch == self.epoch:
            self.lost_epoch = epoch
            self.revoke()

    def is_open(self) -> bool:
        """True while the current epoch's modems may be written."""
        return not self._fenced or (self.epoch is not None and self._clock() < self._valid_until)

    def valid(self, epoch: int | None) -> bool:
        """True while work prepared under ``epoch`` may still be written to a modem."""
        if not self._fenced:
            return True
        return epoch is not None and epoch == self.epoch and self._clock() < self._valid_until

    def open_for(self) -> float:
        """Seconds the fence has been open without a break (0 when closed)."""
        if not self._fenced:
            return math.inf
        if self._open_since is None or not self.is_open():
            return 0.0
        return self._clock() - self._open_since

    def remaining(self) -> float:
        """Seconds until the fence closes unless renewed (0 when closed)."""
        if not self._fenced:
            return math.inf
        return max(0.0, self._valid_until - self._clock()) if self.epoch is not None else 0.0

    async def wait_granted(self, timeout: float) -> None:
        """Until the next grant, or ``timeout`` seconds."""
        waiting = self._granted
        try:
            await asyncio.wait_for(waiting.wait(), timeout)
        except TimeoutError:
            return

    async def guard(self, conn: AsyncConnection, epoch: int | None) -> None:
        """In the caller's transaction: hold this host's lease at ``epoch`` until it ends, or
        raise :class:`~gatewayd.queue.lease.LeaseLost` (nothing written)."""
        if not self._fenced:
            return
        if epoch is None or epoch != self.epoch:
            raise LeaseLost(f"the lease of host {self.host} is no longer held at epoch {epoch}")
        await guard(conn, self.host, epoch)
