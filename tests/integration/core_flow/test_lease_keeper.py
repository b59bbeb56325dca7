"""The lease keeper at start: a lease another installation holds alive is waited for while it
may still expire, and refused in one line when it keeps being renewed; a lease it leaves to
expire is taken at the next epoch."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.config import LeaseSettings
from gatewayd.queue.lease import Grant, acquire, renew
from gatewayd.queue.takeover import Takeover
from gatewayd.service.lease import HostNameInUse, LeaseKeeper
from gatewayd.store import Database
from gatewayd.worker.fence import Fence

LEASE = LeaseSettings(expiry=2.0, renew_interval=0.5, safety_margin=0.5)


def keeper(db: Database, instance: str = "here") -> LeaseKeeper:
    async def nothing(*_args: object) -> None:
        return None

    async def taken(_takeover: Takeover) -> None:
        raise AssertionError("nothing to take over here")

    return LeaseKeeper(
        host="gw1",
        instance=instance,
        modems=["m0"],
        settings=LEASE,
        db=db,
        fence=Fence("gw1"),
        stopping=asyncio.Event(),
        on_takeover=taken,
        on_rejoin=nothing,
        on_failover=nothing,
    )


@contextlib.asynccontextmanager
async def held_elsewhere(db: Database, *, renewing: bool) -> AsyncIterator[None]:
    """``gw1``'s lease taken by another installation, renewed every 0.3 s while ``renewing``."""
    async with db.begin() as conn:
        got = await acquire(conn, "gw1", instance="elsewhere", modems=["m9"], expiry=LEASE.expiry)
    assert isinstance(got, Grant)

    async def renewals() -> None:
        while renewing:
            async with db.begin() as conn:
                await renew(conn, "gw1", got.epoch, expiry=LEASE.expiry)
            await asyncio.sleep(0.3)

    task = asyncio.create_task(renewals())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def nothing_to_settle(_conn: AsyncConnection) -> str:
    return "settled"


async def test_a_host_name_kept_alive_elsewhere_is_refused(db: Database) -> None:
    async with held_elsewhere(db, renewing=True):
        with pytest.raises(HostNameInUse) as refused:
            await asyncio.wait_for(keeper(db).start(nothing_to_settle), 30)
    message = str(refused.value)
    assert "another gatewayd runs as host 'gw1' on elsewhere" in message
    assert "give this one another [gateway] host" in message and "\n" not in message


async def test_a_lease_left_to_expire_is_taken_at_the_next_epoch(db: Database) -> None:
    async with held_elsewhere(db, renewing=False):
        mine = keeper(db)
        assert await asyncio.wait_for(mine.start(nothing_to_settle), 30) == "settled"
    assert mine.fence.epoch == 2 and mine.fence.is_open()


async def test_a_restart_on_the_same_installation_takes_its_lease_at_once(
    db: Database, tmp_path: Path
) -> None:
    first = keeper(db)
    await first.start(nothing_to_settle)
    again = keeper(db)  # the previous process died without giving its lease up
    assert await asyncio.wait_for(again.start(nothing_to_settle), 5) == "settled"
    assert again.fence.epoch == 2
