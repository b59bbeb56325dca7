"""What the gatewayd hosts' leases say, for the web: which hosts are alive (their lease has not
run out, by the database's clock), with which modems, and for the hosts page and metrics each
host's lease, the parts it has in flight, the messages waiting for its modems and the takeovers
of its work. Written by :mod:`gatewayd.queue.lease` and :mod:`gatewayd.queue.takeover`; read
here only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.lease import alive, database_time
from gatewayd.store import (
    MessageStatus,
    PartStatus,
    gateway_hosts,
    host_takeovers,
    message_parts,
    messages,
    modems,
)


@dataclass(frozen=True)
class GatewayHost:
    host: str
    state: str
    modems: tuple[str, ...]
    seen_at: datetime

    @property
    def idle(self) -> bool:
        return not self.modems


async def live_hosts(conn: AsyncConnection) -> list[GatewayHost]:
    """Hosts whose lease is alive now (running or idle), by name."""
    rows = await conn.execute(
        select(gateway_hosts).where(alive(conn)).order_by(gateway_hosts.c.host)
    )
    return [
        GatewayHost(row.host, row.state, tuple(str(m) for m in row.modems or ()), row.seen_at)
        for row in rows
    ]


@dataclass(frozen=True)
class LastTakeover:
    by: str
    at: datetime
    epoch: int
    unknown_parts: int
    requeued_messages: int
    failed_over: int
    waiting: int


@dataclass(frozen=True)
class HostLease:
    """One host as the hosts page and the metrics show it."""

    host: str
    state: str
    alive: bool
    epoch: int
    modems: tuple[str, ...]
    renewed_at: datetime
    expires_at: datetime | None
    renewed_seconds_ago: float
    expires_in_seconds: float | None
    """Negative once it has run out; None for a row written before leases."""
    in_flight_parts: int
    """Parts committed ``sending`` under its claims: handed to its modems, or about to be."""
    waiting_messages: int
    """Queued messages that only its modems may send."""
    takeovers: int
    """How often its work was taken over."""
    last_takeover: LastTakeover | None


async def host_leases(conn: AsyncConnection) -> list[HostLease]:
    """Every host that ever held a lease, by name."""
    now = await database_time(conn)
    rows = (
        await conn.execute(
            select(gateway_hosts, alive(conn).label("alive")).order_by(gateway_hosts.c.host)
        )
    ).all()
    in_flight = await _in_flight_parts(conn)
    taken = await _takeovers(conn)
    found = []
    for row in rows:
        names = tuple(str(m) for m in row.modems or ())
        owned = await _modems_of(conn, row.host)
        count, last = taken.get(row.host, (0, None))
        found.append(
            HostLease(
                host=row.host,
                state=row.state,
                alive=bool(row.alive),
                epoch=int(row.epoch),
                modems=names,
                renewed_at=row.seen_at,
                expires_at=row.expires_at,
                renewed_seconds_ago=round((now - row.seen_at).total_seconds(), 3),
                expires_in_seconds=(
                    round((row.expires_at - now).total_seconds(), 3)
                    if row.expires_at is not None
                    else None
                ),
                in_flight_parts=in_flight.get(row.host, 0),
                waiting_messages=await _waiting(conn, set(names) | owned),
                takeovers=count,
                last_takeover=last,
            )
        )
    return found


async def _in_flight_parts(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(
        select(messages.c.claimed_by, func.count())
        .select_from(messages.join(message_parts, message_parts.c.message_id == messages.c.id))
        .where(
            messages.c.claimed_by.is_not(None),
            messages.c.status == MessageStatus.SENDING.value,
            message_parts.c.status == PartStatus.SENDING.value,
        )
        .group_by(messages.c.claimed_by)
    )
    return {str(host): int(count) for host, count in rows}


async def _modems_of(conn: AsyncConnection, host: str) -> set[str]:
    return {
        row.name for row in await conn.execute(select(modems.c.name).where(modems.c.host == host))
    }


async def _waiting(conn: AsyncConnection, names: set[str]) -> int:
    if not names:
        return 0
    listed = sorted(names)
    count = await conn.execute(
        select(func.count()).where(
            messages.c.status == MessageStatus.QUEUED.value,
            or_(messages.c.modem.in_(listed), messages.c.assigned_modem.in_(listed)),
        )
    )
    return int(count.scalar_one())


async def _takeovers(conn: AsyncConnection) -> dict[str, tuple[int, LastTakeover | None]]:
    counts = {
        str(host): int(count)
        for host, count in await conn.execute(
            select(host_takeovers.c.host, func.count()).group_by(host_takeovers.c.host)
        )
    }
    newest = (
        select(host_takeovers.c.host, func.max(host_takeovers.c.id).label("id"))
        .group_by(host_takeovers.c.host)
        .subquery()
    )
    rows = await conn.execute(
        select(host_takeovers).join(
            newest, and_(newest.c.id == host_takeovers.c.id, newest.c.host == host_takeovers.c.host)
        )
    )
    found: dict[str, tuple[int, LastTakeover | None]] = {}
    for row in rows:
        found[row.host] = (counts.get(row.host, 0), _last(row))
    return found


def _last(row: Any) -> LastTakeover:
    return LastTakeover(
        by=row.by_host,
        at=row.at,
        epoch=int(row.epoch),
        unknown_parts=int(row.unknown_parts),
        requeued_messages=int(row.requeued_messages),
        failed_over=int(row.failed_over),
        waiting=int(row.waiting),
    )
