"""What each gatewayd host says about itself: running with which modems, idle (no enabled
modem, so it sends nothing) or stopped, and when it was last seen. The ``gateway_hosts`` table
is written only here; the web reads it through :func:`live_hosts` for its health check and
modems page."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import gateway_hosts
from gatewayd.store.upsert import upsert

HostState = Literal["running", "idle", "stopped"]
LIVE_FOR = timedelta(minutes=2)
"""A host not seen for this long is taken for dead (its housekeeping refreshes every 15 s)."""


@dataclass(frozen=True)
class GatewayHost:
    host: str
    state: HostState
    modems: tuple[str, ...]
    seen_at: datetime

    @property
    def idle(self) -> bool:
        return not self.modems


async def announce_host(
    conn: AsyncConnection, host: str, modems: Sequence[str], *, now: datetime
) -> HostState:
    """Record that ``host`` has started with ``modems``; its state (``idle`` when none)."""
    state: HostState = "running" if modems else "idle"
    values = {
        "host": host,
        "state": state,
        "modems": list(modems),
        "pid": os.getpid(),
        "started_at": now,
        "seen_at": now,
    }
    await upsert(conn, gateway_hosts, values, key=("host",))
    return state


async def host_seen(conn: AsyncConnection, host: str, *, now: datetime) -> None:
    await conn.execute(
        update(gateway_hosts).where(gateway_hosts.c.host == host).values(seen_at=now)
    )


async def host_stopped(conn: AsyncConnection, host: str, *, now: datetime) -> None:
    await conn.execute(
        update(gateway_hosts)
        .where(gateway_hosts.c.host == host)
        .values(state="stopped", seen_at=now)
    )


async def live_hosts(conn: AsyncConnection, *, now: datetime) -> list[GatewayHost]:
    """Hosts running now (not stopped, seen within :data:`LIVE_FOR`), by name."""
    rows = await conn.execute(
        select(gateway_hosts)
        .where(gateway_hosts.c.state != "stopped", gateway_hosts.c.seen_at >= now - LIVE_FOR)
        .order_by(gateway_hosts.c.host)
    )
    return [
        GatewayHost(row.host, row.state, tuple(str(m) for m in row.modems or ()), row.seen_at)
        for row in rows
    ]
