"""This gatewayd host's lease, kept: taken at start, renewed every few seconds, given up at a
clean stop; and the work of other hosts whose lease expired, taken over.

:class:`LeaseKeeper` owns the host's :class:`~gatewayd.worker.fence.Fence`. Each round it
renews the lease (:func:`gatewayd.queue.lease.renew`), noting the monotonic time before the
renewal's transaction began, and tells the fence how long it may write to its modems. A
renewal that finds the lease gone means another host took this host's work over while it was
cut off: the fence is revoked at once (nothing more is written under the old epoch, to a
modem or to the queue) and the host takes its lease anew at a new epoch (*rejoins*), never
touching what was taken over.

A renewal is never cancelled: one that hangs (a database cut off without a word) is left to
finish or fail while the fence closes by itself; the next renewal starts once it has ended.

Takeovers (:mod:`gatewayd.queue.takeover`) are tried each round, but only by a host whose own
fence has been open without a break for a whole lease period: after an outage that every host
saw (the database restarting, a failover), each host gets that long to renew its own lease
before anybody takes its work.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.config import Backoff, LeaseSettings
from gatewayd.metrics import LEASE_LOSSES, LEASE_RENEWAL_FAILURES
from gatewayd.queue.lease import Grant, HeldElsewhere, acquire, release, renew
from gatewayd.queue.takeover import (
    Takeover,
    dead_hosts,
    fail_over_bound,
    modems_of_taken_over_hosts,
    take_over,
)
from gatewayd.store import Database, DatabaseUnavailable, utc_now
from gatewayd.worker.fence import Fence

log = structlog.get_logger(__name__)

T = TypeVar("T")
START_BACKOFF = Backoff(0.5, 10.0)
"""Waits between tries to take the lease at start while the database is unavailable."""


class HostNameInUse(Exception):
    """Another installation keeps renewing the lease of this host name; one line."""


@dataclass
class LeaseKeeper:
    """See the module docstring."""

    host: str
    instance: str
    modems: Sequence[str]
    settings: LeaseSettings
    db: Database
    fence: Fence
    stopping: asyncio.Event
    on_takeover: Callable[[Takeover], Awaitable[None]]
    on_rejoin: Callable[[int], Awaitable[None]]
    on_failover: Callable[[list[int]], Awaitable[None]]
    clock: Callable[[], float] = time.monotonic
    _renewal: asyncio.Task[Grant | None] | None = field(default=None, init=False)
    _failing_since: float | None = field(default=None, init=False)
    _stopped_told: bool = field(default=False, init=False)

    async def start(self, then: Callable[[AsyncConnection], Awaitable[T]]) -> T | None:
        """Take the lease at a new epoch and run ``then`` in the same transaction (under that
        epoch); None when gatewayd was stopped first. While another installation holds the
        lease alive, wait for it to expire; :class:`HostNameInUse` when it keeps renewing it."""
        held_since: float | None = None
        for delay in START_BACKOFF.delays():
            if self.stopping.is_set():
                return None
            asked_at = self.clock()
            try:
                async with self.db.begin() as conn:
                    got = await acquire(
                        conn,
                        self.host,
                        instance=self.instance,
                        modems=self.modems,
                        expiry=self.settings.expiry,
                    )
                    if isinstance(got, Grant):
                        result = await then(conn)
            except DatabaseUnavailable as error:
                self.fence.revoke()
                log.warning("Database unavailable at start; retrying", error=str(error))
                await self._pause(delay)
                continue
            if isinstance(got, Grant):
                self.fence.granted(got.epoch, asked_at=asked_at, valid_for=self.settings.valid_for)
                log.info(
                    "Lease taken", host=self.host, epoch=got.epoch, expires_at=str(got.expires_at)
                )
                return result
            held_since = self.clock() if held_since is None else held_since
            self._held_elsewhere(got, waited=self.clock() - held_since)
            await self._pause(self.settings.renew_interval)
        return None

    def _held_elsewhere(self, held: HeldElsewhere, *, waited: float) -> None:
        where = f"{held.instance or 'another installation'} (pid {held.pid})"
        if waited > 2 * self.settings.expiry:
            raise HostNameInUse(
                f"another gatewayd runs as host {self.host!r} on {where} and keeps its lease: "
                "give this one another [gateway] host"
            )
        log.warning(
            "Another gatewayd holds this host's lease: waiting for it to expire",
            host=self.host,
            holder=where,
            expires_at=str(held.expires_at),
        )

    async def run(self) -> None:
        """Renew every ``renew_interval`` and take over dead hosts, until gatewayd stops."""
        while not self.stopping.is_set():
            await self._renew_round()
            if self.fence.open_for() >= self.settings.expiry:
                await self._take_over_round()
            await self._pause(self.settings.renew_interval)

    async def _renew_round(self) -> None:
        if self._renewal is not None and not self._renewal.done():
            self._renewal_late()
            return  # still hanging: never cancelled, the fence closes by itself
        asked_at = self.clock()
        epoch = self.fence.epoch
        if epoch is None:
            if self.fence.lost_epoch is not None:
                await self._lost(self.fence.lost_epoch)  # a write was refused: taken over
            else:
                await self._rejoin()
            return
        self._renewal = asyncio.create_task(self._renew(epoch), name="lease-renewal")
        self._renewal.add_done_callback(_retrieve)
        waited = asyncio.shield(self._renewal)
        try:
            grant = await asyncio.wait_for(waited, self.settings.renew_interval)
        except TimeoutError:
            self._renewal_late()
            return
        except DatabaseUnavailable as error:
            self._renewal_failed(error)
            return
        if grant is None:
            await self._lost(epoch)
            return
        if self._failing_since is not None:
            log.info("Lease renewed again", host=self.host, epoch=epoch)
            self._failing_since = None
            self._stopped_told = False
        self.fence.granted(epoch, asked_at=asked_at, valid_for=self.settings.valid_for)

    async def _renew(self, epoch: int) -> Grant | None:
        async with self.db.begin() as conn:
            return await renew(conn, self.host, epoch, expiry=self.settings.expiry)

    def _renewal_late(self) -> None:
        self._renewal_failed(TimeoutError(f"no answer within {self.settings.renew_interval:g} s"))

    def _renewal_failed(self, error: BaseException) -> None:
        LEASE_RENEWAL_FAILURES.inc()
        now = self.clock()
        if self._failing_since is None:
            self._failing_since = now
            log.warning(
                "Lease renewal failed; modems stop unless it succeeds in time",
                host=self.host,
                error=str(error) or type(error).__name__,
                seconds_left=round(self.fence.remaining(), 3),
            )
        elif not self.fence.is_open() and not self._stopped_told:
            self._stopped_told = True
            log.warning(
                "Lease not renewed in time: modems stopped",
                host=self.host,
                error=str(error) or type(error).__name__,
                failing_for=round(now - self._failing_since, 1),
            )

    async def _lost(self, epoch: int) -> None:
        """The lease is no longer held at ``epoch``: another host took this one's work."""
        self.fence.revoke()
        LEASE_LOSSES.inc()
        log.error(
            "Lease lost: another host took over this host's work; rejoining with a new epoch",
            host=self.host,
            epoch=epoch,
        )
        await self._rejoin()

    async def _rejoin(self) -> None:
        asked_at = self.clock()
        try:
            async with self.db.begin() as conn:
                got = await acquire(
                    conn,
                    self.host,
                    instance=self.instance,
                    modems=self.modems,
                    expiry=self.settings.expiry,
                )
        except DatabaseUnavailable as error:
            self._renewal_failed(error)
            return
        if isinstance(got, HeldElsewhere):
            self._held_elsewhere(got, waited=0.0)
            return
        self._failing_since = None
        self._stopped_told = False
        self.fence.granted(got.epoch, asked_at=asked_at, valid_for=self.settings.valid_for)
        log.warning("Rejoined with a new lease epoch", host=self.host, epoch=got.epoch)
        await self.on_rejoin(got.epoch)

    async def _take_over_round(self) -> None:
        epoch = self.fence.epoch
        try:
            async with self.db.begin() as conn:
                await self._limit_lock_waits(conn)
                await self.fence.guard(conn, epoch)
                done = [
                    await take_over(
                        conn, dead, by=self.host, policy=self.settings.bound_messages, now=utc_now()
                    )
                    for dead in await dead_hosts(conn, me=self.host)
                ]
                moved = await self._fail_over_later_ones(conn)
        except DatabaseUnavailable as error:
            log.warning("Takeover round skipped: database unavailable", error=str(error))
            return
        except DBAPIError as error:
            if "lock timeout" not in str(error):
                raise
            log.info("Takeover round skipped: a dead host's rows are still locked")
            return
        for takeover in done:
            await self.on_takeover(takeover)
        if moved:
            await self.on_failover(moved)

    async def _limit_lock_waits(self, conn: AsyncConnection) -> None:
        """A dead host's transaction may still hold rows until the database ends its session
        (``idle_in_transaction_session_timeout``): wait for them only so long."""
        if conn.dialect.name == "postgresql":
            millis = int(self.settings.renew_interval * 1000)
            await conn.exec_driver_sql(f"SET LOCAL lock_timeout = {millis}")

    async def _fail_over_later_ones(self, conn: AsyncConnection) -> list[int]:
        """Under ``failover``: messages queued since for a modem of a host taken over."""
        if self.settings.bound_messages != "failover":
            return []
        names = await modems_of_taken_over_hosts(conn) - set(self.modems)
        reason = "the host of its modem lost its lease"
        return await fail_over_bound(conn, names, reason=reason, now=utc_now())

    async def release(self) -> None:
        """A clean stop: the lease is given up (the claims were given back before)."""
        epoch = self.fence.epoch
        self.fence.revoke()
        if epoch is None:
            return
        try:
            async with self.db.begin() as conn:
                await release(conn, self.host, epoch)
        except DatabaseUnavailable as error:
            log.warning("Cannot give the lease up", error=str(error))

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)


def _retrieve(task: asyncio.Task[Grant | None]) -> None:
    """A renewal nobody waited for to the end: its failure was counted when it was late."""
    if not task.cancelled():
        task.exception()
