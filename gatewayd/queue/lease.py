"""Each gatewayd host's lease: its row in ``gateway_hosts``, taken, renewed, checked and given up.

A host holds its lease at an *epoch*, raised every time it takes the lease anew (at start, and
when it comes back after another host took over its work). The lease expires ``expiry``
seconds after its last renewal, by the database's clock (``now()`` on PostgreSQL, so hosts
whose clocks disagree still agree on who is late; this process's clock on SQLite, where one
host runs). Every write of the send path that claims, prepares or records carries
:data:`LEASE_HELD`, which share-locks the row at this host's epoch (``FOR KEY SHARE``) inside
the statement and makes it fail when the lease is not held there; the send path's rarer
transactions start with :func:`guard`, the same lock as a statement of its own. A takeover
(:mod:`gatewayd.queue.takeover`) begins by locking the same row ``FOR UPDATE``. So each such
transaction commits wholly before a takeover of its host or finds the lease gone and writes
nothing: a claim or a part committed ``sending`` is either seen by the takeover or never made.

The ``gateway_hosts`` table is written here and by the takeover; the web reads it through
:mod:`gatewayd.queue.host_state`.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Interval,
    and_,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import (
    LEASE_HOLDING,
    DatabaseUnavailable,
    HostState,
    UtcDateTime,
    gateway_hosts,
    utc_now,
)

OLD_VERSION_GRACE = timedelta(minutes=2)
"""A host row without a lease (written by a gatewayd from before leases) counts as alive for
this long after it was last seen: such a host refreshes it every 15 s."""


class LeaseLost(DatabaseUnavailable):
    """This host's lease is no longer held at the epoch it works under: another host took its
    work over, or it took the lease anew since. Nothing of the transaction was written. A
    :class:`~gatewayd.store.DatabaseUnavailable` for whoever only needs to know that the
    queue refused the write; code that retries through outages must not retry this."""


@dataclass(frozen=True)
class Grant:
    """The lease as this host holds it: its epoch and when it expires (database clock)."""

    epoch: int
    expires_at: datetime


@dataclass(frozen=True)
class HeldElsewhere:
    """Another installation holds a live lease under this host name."""

    instance: str | None
    pid: int | None
    expires_at: datetime


def instance_name(data_dir: Path) -> str:
    """Which installation holds a lease: this machine and data folder. Two gatewayd with one
    host name on two machines are told apart; a restart on the same machine takes its own
    lease back at once (the data-folder lock says the previous process is gone)."""
    machine = _machine_id() or socket.gethostname()
    folder = hashlib.sha256(str(data_dir.absolute()).encode()).hexdigest()[:16]
    return f"{socket.gethostname()[:120]}:{machine[:32]}:{folder}"


def _machine_id() -> str | None:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(path, encoding="ascii") as handle:
                return handle.read().strip() or None
        except (OSError, UnicodeDecodeError):
            continue
    return None


def clock(conn: AsyncConnection, plus: float = 0.0) -> ColumnElement[datetime]:
    """The database's time (PostgreSQL: the transaction's ``now()``) plus ``plus`` seconds; on
    SQLite, this process's time."""
    if conn.dialect.name == "postgresql":
        now: ColumnElement[Any] = func.now()
        if plus:
            now = now + literal(timedelta(seconds=plus), Interval())
        return type_coerce(now, UtcDateTime())
    return literal(utc_now() + timedelta(seconds=plus), UtcDateTime())


def expired(conn: AsyncConnection) -> ColumnElement[bool]:
    """The host row's lease has run out (or, written before leases, it went silent)."""
    old_version_silent = and_(
        gateway_hosts.c.expires_at.is_(None),
        gateway_hosts.c.seen_at < clock(conn, -OLD_VERSION_GRACE.total_seconds()),
    )
    return and_(
        gateway_hosts.c.state.in_(LEASE_HOLDING),
        or_(gateway_hosts.c.expires_at < clock(conn), old_version_silent),
    )


def alive(conn: AsyncConnection) -> ColumnElement[bool]:
    """The host row holds a lease that has not run out."""
    old_version_fresh = and_(
        gateway_hosts.c.expires_at.is_(None),
        gateway_hosts.c.seen_at >= clock(conn, -OLD_VERSION_GRACE.total_seconds()),
    )
    return and_(
        gateway_hosts.c.state.in_(LEASE_HOLDING),
        or_(gateway_hosts.c.expires_at >= clock(conn), old_version_fresh),
    )


async def acquire(
    conn: AsyncConnection,
    host: str,
    *,
    instance: str,
    modems: Sequence[str],
    expiry: float,
) -> Grant | HeldElsewhere:
    """Take the lease of ``host`` at a new epoch, unless another installation holds it alive.

    Whatever the previous holder left claimed stays as it was: the caller settles it (crash
    recovery) under the new epoch, or a takeover already did."""
    row = (
        await conn.execute(
            select(
                gateway_hosts.c.epoch,
                gateway_hosts.c.instance,
                gateway_hosts.c.pid,
                gateway_hosts.c.expires_at,
                alive(conn).label("alive"),
            )
            .where(gateway_hosts.c.host == host)
            .with_for_update()
        )
    ).one_or_none()
    if row is not None and row.alive and row.instance != instance:
        return HeldElsewhere(row.instance, row.pid, row.expires_at or utc_now())
    state = HostState.RUNNING if modems else HostState.IDLE
    values: dict[str, Any] = {
        "state": state.value,
        "modems": list(modems),
        "pid": os.getpid(),
        "started_at": clock(conn),
        "seen_at": clock(conn),
        "expires_at": clock(conn, expiry),
        "instance": instance,
        "epoch": (row.epoch if row is not None else 0) + 1,
    }
    if row is None:
        statement: Any = insert(gateway_hosts).values(host=host, **values)
    else:
        statement = update(gateway_hosts).where(gateway_hosts.c.host == host).values(**values)
    granted = (
        await conn.execute(statement.returning(gateway_hosts.c.epoch, gateway_hosts.c.expires_at))
    ).one()
    return Grant(int(granted.epoch), granted.expires_at)


async def renew(conn: AsyncConnection, host: str, epoch: int, *, expiry: float) -> Grant | None:
    """Extend the lease held at ``epoch`` to ``expiry`` seconds from now; None when it is no
    longer held at that epoch (taken over, or taken anew). A lease that ran out but was not
    taken over is renewed: nobody acted on its expiry."""
    renewed = (
        await conn.execute(
            update(gateway_hosts)
            .where(
                gateway_hosts.c.host == host,
                gateway_hosts.c.epoch == epoch,
                gateway_hosts.c.state.in_(LEASE_HOLDING),
            )
            .values(seen_at=clock(conn), expires_at=clock(conn, expiry))
            .returning(gateway_hosts.c.expires_at)
        )
    ).one_or_none()
    return None if renewed is None else Grant(epoch, renewed.expires_at)


_GUARD = (
    select(gateway_hosts.c.epoch)
    .where(
        gateway_hosts.c.host == bindparam("b_host"),
        gateway_hosts.c.epoch == bindparam("b_epoch"),
        gateway_hosts.c.state.in_(LEASE_HOLDING),
    )
    .with_for_update(read=True, key_share=True)
)


async def guard(conn: AsyncConnection, host: str, epoch: int) -> None:
    """Hold ``host``'s lease at ``epoch`` for the rest of this transaction (a takeover waits
    for it), or raise :class:`LeaseLost` when it is not held at that epoch."""
    found = (await conn.execute(_GUARD, {"b_host": host, "b_epoch": epoch})).first()
    if found is None:
        raise LeaseLost(f"the lease of host {host} at epoch {epoch} is no longer held")


@dataclass(frozen=True)
class LeaseRef:
    """The lease a statement's writes are made under: ``host`` at ``epoch``."""

    host: str
    epoch: int

    def params(self) -> dict[str, Any]:
        return {"b_lease_host": self.host, "b_lease_epoch": self.epoch}


_LEASE_ROW = (
    select(literal_column("1").label("held"))
    .where(
        gateway_hosts.c.host == bindparam("b_lease_host", type_=gateway_hosts.c.host.type),
        gateway_hosts.c.epoch == bindparam("b_lease_epoch", type_=gateway_hosts.c.epoch.type),
        # written out, not a list parameter: these statements also run as executemany
        or_(*(gateway_hosts.c.state == literal_column(f"'{state}'") for state in LEASE_HOLDING)),
    )
    .with_for_update(read=True, key_share=True)
    .subquery("lease")
)
LEASE_HELD: ColumnElement[bool] = select(literal_column("1") / func.count()).select_from(
    _LEASE_ROW
).scalar_subquery() == literal_column("1")
"""A condition for the writes of the send path (``b_lease_host``, ``b_lease_epoch``): it
share-locks the host's lease row at its epoch for the rest of the transaction, exactly as
:func:`guard` does but inside the statement (no round trip of its own), and when the lease
is not held there it divides by zero: the statement fails (SQLSTATE 22012, see
:func:`refused_lease`) and the transaction writes nothing. PostgreSQL only (SQLite, one host,
has nobody to take its work over)."""
LEASE_REFUSED_SQLSTATE = "22012"


def refused_lease(error: BaseException) -> bool:
    """True when a statement guarded by :data:`LEASE_HELD` failed because the lease is no
    longer held (the only division in those statements is the guard's)."""
    orig = getattr(error, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(code) == LEASE_REFUSED_SQLSTATE


async def release(conn: AsyncConnection, host: str, epoch: int) -> None:
    """A clean stop: the lease is given up (its claims were given back)."""
    await conn.execute(
        update(gateway_hosts)
        .where(gateway_hosts.c.host == host, gateway_hosts.c.epoch == epoch)
        .values(state=HostState.STOPPED.value, seen_at=clock(conn), expires_at=clock(conn))
    )


async def database_time(conn: AsyncConnection) -> datetime:
    """The database's clock now (this process's on SQLite)."""
    return (await conn.execute(select(clock(conn)))).scalar_one()
