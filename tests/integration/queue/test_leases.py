"""Host leases and takeovers on real PostgreSQL and SQLite: taking, renewing, giving up, the
guard every send-path transaction starts with, and what a takeover does to a dead host's
claims, parts and bound messages (``wait`` and ``failover``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue import ClaimedRow, NewMessage, claim_due, enqueue, prepare
from gatewayd.queue.host_state import host_leases, live_hosts
from gatewayd.queue.lease import (
    Grant,
    HeldElsewhere,
    LeaseLost,
    LeaseRef,
    acquire,
    guard,
    refused_lease,
    release,
    renew,
)
from gatewayd.queue.progress import parts_sent
from gatewayd.queue.takeover import dead_hosts, take_over
from gatewayd.store import (
    Database,
    audit_log,
    gateway_hosts,
    host_takeovers,
    message_events,
    message_parts,
    messages,
    modems,
    utc_now,
)
from gatewayd.worker.fence import Fence
from gatewayd.worker.recorder import ModemSide, SendRecorder
from tests.integration.core_flow.harness import eventually
from tests.support.sending import answered, claim, hand_over

TO = "+5511987650001"
LONG = "a text long enough to need two parts " * 6


async def take(db: Database, host: str, names: Sequence[str] = ("m0",), **kw: float) -> int:
    async with db.begin() as conn:
        got = await acquire(
            conn, host, instance=f"{host}-box", modems=names, expiry=kw.get("expiry", 20.0)
        )
    assert isinstance(got, Grant)
    return got.epoch


async def expire(db: Database, host: str) -> None:
    async with db.begin() as conn:
        await conn.execute(
            update(gateway_hosts)
            .where(gateway_hosts.c.host == host)
            .values(expires_at=utc_now() - timedelta(seconds=1))
        )


async def queue(db: Database, *news: NewMessage) -> list[int]:
    async with db.begin() as conn:
        ids, _ = await enqueue(conn, [prepare(n) for n in news], created_by="test")
    return ids


async def add_modem(db: Database, name: str, host: str) -> None:
    async with db.begin() as conn:
        await conn.execute(
            insert(modems).values(name=name, host=host, device=f"/dev/{name}", state="online")
        )


async def status_of(db: Database, message_id: int) -> tuple[str, list[str], str | None, str | None]:
    async with db.read() as conn:
        row = (await conn.execute(select(messages).where(messages.c.id == message_id))).one()
        parts = await conn.execute(
            select(message_parts.c.status)
            .where(message_parts.c.message_id == message_id)
            .order_by(message_parts.c.seq)
        )
        return row.status, [p.status for p in parts], row.modem, row.assigned_modem


async def test_lease_taken_renewed_given_up_and_taken_anew(db: Database) -> None:
    assert await take(db, "a") == 1
    async with db.begin() as conn:
        renewed = await renew(conn, "a", 1, expiry=20.0)
        assert renewed is not None and renewed.expires_at > utc_now() + timedelta(seconds=15)
        assert await renew(conn, "a", 2, expiry=20.0) is None  # not its epoch
    async with db.read() as conn:
        assert [h.host for h in await live_hosts(conn)] == ["a"]
    async with db.begin() as conn:
        await release(conn, "a", 1)
    async with db.read() as conn:
        assert await live_hosts(conn) == []
    assert await take(db, "a") == 2  # every start is a new epoch


async def test_a_live_lease_of_another_installation_is_not_taken(db: Database) -> None:
    await take(db, "a")
    async with db.begin() as conn:
        other = await acquire(conn, "a", instance="elsewhere", modems=["m9"], expiry=20.0)
    assert isinstance(other, HeldElsewhere) and other.instance == "a-box"
    await expire(db, "a")
    async with db.begin() as conn:
        after = await acquire(conn, "a", instance="elsewhere", modems=["m9"], expiry=20.0)
    assert isinstance(after, Grant) and after.epoch == 2


async def test_guard_passes_at_the_held_epoch_only(db: Database) -> None:
    epoch = await take(db, "a")
    async with db.begin() as conn:
        await guard(conn, "a", epoch)
        with pytest.raises(LeaseLost, match="no longer held"):
            await guard(conn, "a", epoch + 1)


async def test_takeover_of_a_dead_host(db: Database) -> None:
    """What host a held when it died: a one-part message on the wire (unknown), a two-part
    message half sent (its rest bound to a's modem), a message pinned to a's modem; host b's
    own claim is not touched."""
    await take(db, "a", ["m0"])
    b_epoch = await take(db, "b", ["m1"])
    await add_modem(db, "m0", "a")
    await add_modem(db, "m1", "b")
    on_wire, half, pinned, bs = await queue(
        db,
        NewMessage(TO, "on the wire"),
        NewMessage(TO, LONG),
        NewMessage(TO, "pinned to m0", modem="m0"),
        NewMessage(TO, "b's own"),
    )
    now = utc_now()
    async with db.begin() as conn:
        [first] = await claim(conn, host="a", modem="m0", now=now)
        await hand_over(conn, first, 0, modem="m0", imsi="1", now=now)
        [second] = await claim(conn, host="a", modem="m0", now=now)
        slot = await hand_over(conn, second, 0, modem="m0", imsi="1", now=now)
        await answered(conn, slot, 7, modem="m0", now=now)
        [own] = await claim(conn, host="b", modem="m1", now=now)
        await hand_over(conn, own, 0, modem="m1", imsi="2", now=now)
    assert (first.id, second.id, own.id) == (on_wire, half, bs)
    await expire(db, "a")
    async with db.begin() as conn:
        [dead] = await dead_hosts(conn, me="b")
        done = await take_over(conn, dead, by="b", policy="wait", now=utc_now())
    assert (done.host, done.by, done.epoch) == ("a", "b", 1)
    assert (done.unknown_parts, done.requeued_messages, done.waiting) == (1, 2, 2)
    assert done.unknown_message_ids == (on_wire,)
    assert await status_of(db, on_wire) == ("unknown", ["unknown"], None, "m0")
    assert await status_of(db, half) == ("queued", ["sent", "queued"], None, "m0")
    assert await status_of(db, pinned) == ("queued", ["queued"], "m0", None)
    assert (await status_of(db, bs))[:2] == ("sending", ["sending"])
    async with db.read() as conn:
        host = (await conn.execute(select(gateway_hosts).where(gateway_hosts.c.host == "a"))).one()
        recorded = (await conn.execute(select(host_takeovers))).one()
        audited = (await conn.execute(select(audit_log))).one()
        modem_state = (
            await conn.execute(select(modems.c.state).where(modems.c.name == "m0"))
        ).scalar_one()
        timeline = (
            await conn.execute(
                select(message_events.c.status, message_events.c.detail).where(
                    message_events.c.message_id == on_wire
                )
            )
        ).all()
        leases = {lease.host: lease for lease in await host_leases(conn)}
        assert await dead_hosts(conn, me="b") == []  # taken over once
    assert (host.state, host.taken_over_by) == ("taken_over", "b")
    assert (recorded.host, recorded.by_host, recorded.unknown_parts, recorded.waiting) == (
        "a",
        "b",
        1,
        2,
    )
    assert (audited.action, audited.actor, audited.target) == (
        "host.taken_over",
        "gatewayd:b",
        "host:a",
    )
    assert audited.detail["unknown_messages"] == [on_wire]
    assert modem_state == "offline"
    assert (
        "unknown",
        "host a lost its lease; b took over while the part was with the modem",
    ) in timeline
    assert not leases["a"].alive and leases["b"].alive
    assert leases["a"].waiting_messages == 2 and leases["a"].takeovers == 1
    assert leases["b"].in_flight_parts == 1
    last = leases["a"].last_takeover
    assert last is not None and (last.by, last.unknown_parts) == ("b", 1)
    # Host a comes back: its old epoch writes nothing, a new one is granted.
    async with db.begin() as conn:
        assert await renew(conn, "a", 1, expiry=20.0) is None
    assert await take(db, "a", ["m0"]) == 2
    async with db.begin() as conn:
        await guard(conn, "b", b_epoch)  # b was never touched


async def test_failover_moves_only_what_never_left(db: Database) -> None:
    await take(db, "a", ["m0"])
    await take(db, "b", ["m1"])
    await add_modem(db, "m0", "a")
    half, pinned = await queue(db, NewMessage(TO, LONG), NewMessage(TO, "pinned", modem="m0"))
    now = utc_now()
    async with db.begin() as conn:
        [message] = await claim(conn, host="a", modem="m0", now=now)
        slot = await hand_over(conn, message, 0, modem="m0", imsi="1", now=now)
        await answered(conn, slot, 7, modem="m0", now=now)
    await expire(db, "a")
    async with db.begin() as conn:
        [dead] = await dead_hosts(conn, me="b")
        done = await take_over(conn, dead, by="b", policy="failover", now=utc_now())
    assert done.failed_over == (pinned,)
    assert done.waiting == 1  # the half-sent message stays with m0
    assert await status_of(db, pinned) == ("queued", ["queued"], None, None)
    assert await status_of(db, half) == ("queued", ["sent", "queued"], None, "m0")
    async with db.begin() as conn:
        [next_one] = await claim(conn, host="b", modem="m1", now=utc_now())
    assert next_one.id == pinned


async def test_a_live_host_is_not_taken_over(db: Database) -> None:
    await take(db, "a")
    async with db.begin() as conn:
        assert await dead_hosts(conn, me="b") == []


async def test_a_stale_step_writes_nothing(db: Database) -> None:
    """A step prepared under an epoch the host no longer works under (it rejoined since) is
    refused with :class:`LeaseLost` before anything is sent to the database."""
    await take(db, "a")
    await queue(db, NewMessage(TO, "not for a stale step"))
    fence = Fence("a")
    fence.granted(await take(db, "a"), asked_at=0.0, valid_for=1e12)  # rejoined: epoch 2
    recorder = SendRecorder(db, fence=fence)

    async def claim_next(conn: object, now: object, lease: object) -> list[object]:
        raise AssertionError("never asked")

    side = ModemSide("m0", "1", lambda: True, claim_next)  # type: ignore[arg-type]
    with pytest.raises(LeaseLost):
        await recorder.step(side, [], None, epoch=1)
    async with db.read() as conn:
        assert (await conn.execute(select(messages.c.status))).scalar_one() == "queued"


async def test_a_transaction_under_the_lease_holds_the_takeover_back(pg_url: str) -> None:
    """PostgreSQL: a transaction of host a that holds its guard is skipped by the takeover
    (``SKIP LOCKED``); once it commits, the takeover sees what it wrote."""
    db = Database(pg_url)
    other = Database(pg_url)
    try:
        epoch = await take(db, "a")
        await take(db, "b", ["m1"])
        await expire(db, "a")
        [message_id] = await queue(db, NewMessage(TO, "in a's hands"))
        async with db.begin() as conn:
            await guard(conn, "a", epoch)
            [message] = await claim(conn, host="a", modem="m0", now=utc_now())
            await hand_over(conn, message, 0, modem="m0", imsi="1", now=utc_now())
            async with other.begin() as taker:
                assert await dead_hosts(taker, me="b") == []  # a's transaction holds its row
        async with other.begin() as taker:
            [dead] = await dead_hosts(taker, me="b")
            done = await take_over(taker, dead, by="b", policy="wait", now=utc_now())
        assert done.unknown_message_ids == (message_id,)
        # and once taken over, a's next transaction writes nothing
        async with db.begin() as conn:
            with pytest.raises(LeaseLost):
                await guard(conn, "a", epoch)
    finally:
        await other.close()
        await db.close()


async def test_a_guard_waits_for_a_takeover_in_progress(pg_url: str) -> None:
    """PostgreSQL: the takeover locks the lease row first; a transaction of host a that
    starts meanwhile waits for it, then finds the lease gone."""
    db = Database(pg_url)
    other = Database(pg_url)
    watcher = Database(pg_url)
    try:
        epoch = await take(db, "a")
        await take(db, "b", ["m1"])
        await expire(db, "a")

        async with other.begin() as taker:
            [dead] = await dead_hosts(taker, me="b")
            await take_over(taker, dead, by="b", policy="wait", now=utc_now())

            async def guarded() -> None:
                async with db.begin() as conn:
                    await guard(conn, "a", epoch)

            waiting = asyncio.ensure_future(guarded())
            await eventually(
                lambda: blocked_on_the_lease(watcher), timeout=10, what="a blocked guard"
            )
            assert not waiting.done()
        with pytest.raises(LeaseLost):
            await asyncio.wait_for(waiting, 10)
    finally:
        await watcher.close()
        await other.close()
        await db.close()


async def blocked_on_the_lease(db: Database) -> bool:
    async with db.read() as conn:
        rows = await conn.exec_driver_sql(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query ILIKE '%gateway_hosts%' AND datname = current_database()"
        )
        return rows.first() is not None


async def test_writes_under_a_lease_taken_over_are_refused(pg_url: str) -> None:
    """PostgreSQL: the recorder's claim carries the lease condition; once another host took
    this one's work over, the step fails with :class:`LeaseLost` and claims nothing."""
    db = Database(pg_url)
    try:
        epoch = await take(db, "a")
        await take(db, "b", ["m1"])
        [message_id] = await queue(db, NewMessage(TO, "not for a host taken over"))
        fence = Fence("a")
        fence.granted(epoch, asked_at=0.0, valid_for=1e12)  # its clock says it still may
        recorder = SendRecorder(db, fence=fence)

        async def claim_next(
            conn: AsyncConnection, now: datetime, lease: LeaseRef | None
        ) -> list[ClaimedRow]:
            return await claim_due(conn, host="a", modem="m0", now=now, lease=lease)

        side = ModemSide("m0", "1", lambda: True, claim_next)
        await expire(db, "a")
        async with db.begin() as conn:
            [dead] = await dead_hosts(conn, me="b")
            await take_over(conn, dead, by="b", policy="wait", now=utc_now())
        with pytest.raises(LeaseLost):
            await recorder.step(side, [], None, epoch=epoch)
        assert (await status_of(db, message_id))[:2] == ("queued", ["queued"])
        # under a lease it holds, the same step claims and prepares
        fence.granted(await take(db, "a"), asked_at=0.0, valid_for=1e12)
        result = await recorder.step(side, [], None, epoch=fence.epoch)
        assert result.prepared is not None and result.prepared.message.id == message_id
        assert (await status_of(db, message_id))[:2] == ("sending", ["sending"])
    finally:
        await db.close()


async def test_a_guarded_write_of_several_rows_fails_whole(pg_url: str) -> None:
    """PostgreSQL: the lease condition works in statements run for several rows at once (as
    the recorder records several modems' answers), and a refused one fails as LeaseLost's
    cause (SQLSTATE 22012), writing nothing."""
    db = Database(pg_url)
    try:
        epoch = await take(db, "a")
        first, second = await queue(db, NewMessage(TO, "one"), NewMessage(TO, "two"))
        async with db.begin() as conn:
            now = utc_now()
            claimed = await claim(conn, host="a", modem="m0", now=now, limit=2)
            slots = [await hand_over(conn, m, 0, modem="m0", imsi="1", now=now) for m in claimed]
        ids = [slot.part.id for slot in slots]
        async with db.begin() as conn:
            await parts_sent(
                conn, [(ids[0], 1), (ids[1], 2)], now=utc_now(), lease=LeaseRef("a", epoch)
            )
        assert (await status_of(db, first))[1] == ["sent"]
        with pytest.raises(DBAPIError) as refused:
            async with db.begin() as conn:
                await parts_sent(
                    conn, [(ids[0], 3), (ids[1], 4)], now=utc_now(), lease=LeaseRef("a", epoch + 1)
                )
        assert refused_lease(refused.value)
        async with db.read() as conn:
            mrs = sorted((await conn.execute(select(message_parts.c.mr))).scalars())
        assert mrs == [1, 2] and second != first
    finally:
        await db.close()
