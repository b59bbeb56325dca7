"""The send queue on real PostgreSQL and SQLite: enqueue, claims, cancel, crash recovery."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from gatewayd.queue import (
    CannotCancel,
    InvalidMessage,
    NewMessage,
    cancel,
    enqueue,
    prepare,
    recover_after_crash,
)
from gatewayd.queue.progress import roll_up
from gatewayd.store import Database, message_parts, messages, modems, utc_now
from tests.support.sending import answered, claim, hand_over

TO = "+5511990000002"


async def queue(db: Database, *news: NewMessage, key: str | None = None) -> list[int]:
    async with db.begin() as conn:
        ids, _ = await enqueue(
            conn, [prepare(n) for n in news], created_by="test", idempotency_key=key
        )
    return ids


async def test_enqueue_stores_message_parts_and_pdus(db: Database) -> None:
    [message_id] = await queue(db, NewMessage(TO, "x" * 200))
    async with db.read() as conn:
        message = (await conn.execute(select(messages).where(messages.c.id == message_id))).one()
        parts = (
            await conn.execute(
                select(message_parts)
                .where(message_parts.c.message_id == message_id)
                .order_by(message_parts.c.seq)
            )
        ).all()
    assert message.status == "queued"
    assert message.segments == 2
    assert message.encoding == "gsm7"
    assert [p.seq for p in parts] == [1, 2]
    assert all(p.pdu.startswith("00") and p.tpdu_length > 0 for p in parts)


@pytest.mark.parametrize(
    ("new", "code", "field"),
    [
        (NewMessage("12345", "hi"), "invalid_number", "to"),
        (NewMessage(TO, "   "), "empty_text", "text"),
        (NewMessage(TO, "€" * 20000), "text_too_long", "text"),
        (NewMessage(TO, "hi", validity_minutes=1), "invalid_validity", "validity_minutes"),
    ],
)
def test_prepare_refuses_bad_input(new: NewMessage, code: str, field: str) -> None:
    with pytest.raises(InvalidMessage) as info:
        prepare(new)
    assert (info.value.code, info.value.field) == (code, field)


def test_prepare_refuses_unknown_modem() -> None:
    with pytest.raises(InvalidMessage) as info:
        prepare(NewMessage(TO, "hi", modem="nope"), known_modems={"sim0"})
    assert info.value.code == "unknown_modem"


async def test_idempotency_key_returns_the_first_request(db: Database) -> None:
    first = await queue(db, NewMessage(TO, "a"), NewMessage("+5511990000003", "a"), key="k1")
    again = await queue(db, NewMessage(TO, "a"), NewMessage("+5511990000003", "a"), key="k1")
    assert first == again
    async with db.read() as conn:
        count = len((await conn.execute(select(messages.c.id))).all())
    assert count == 2


async def test_claim_takes_highest_priority_first_and_respects_routing(db: Database) -> None:
    low, high, other_modem, later = await queue(
        db,
        NewMessage(TO, "low"),
        NewMessage(TO, "high", priority=5),
        NewMessage(TO, "for sim1", modem="sim1"),
        NewMessage(TO, "later", send_at=utc_now() + timedelta(hours=1)),
    )
    async with db.begin() as conn:
        got = await claim(conn, host="h", modem="sim0", now=utc_now(), limit=10)
    assert [m.id for m in got] == [high, low]
    async with db.begin() as conn:
        got = await claim(conn, host="h", modem="sim1", now=utc_now(), limit=10)
    assert [m.id for m in got] == [other_modem]
    async with db.begin() as conn:
        got = await claim(conn, host="h", modem="sim1", now=utc_now() + timedelta(hours=2))
    assert [m.id for m in got] == [later]


async def test_a_modem_that_failed_a_message_takes_it_again_later(db: Database) -> None:
    [message_id] = await queue(db, NewMessage(TO, "hi"))
    now = utc_now()
    async with db.begin() as conn:
        await conn.execute(
            messages.update()
            .where(messages.c.id == message_id)
            .values(avoid_modem="sim0", updated_at=now)
        )
    async with db.begin() as conn:
        assert await claim(conn, host="h", modem="sim0", now=now + timedelta(seconds=5)) == []
    async with db.begin() as conn:
        [taken] = await claim(conn, host="h", modem="sim0", now=now + timedelta(seconds=31))
    assert taken.id == message_id


async def test_prefix_routes_limit_a_modem(db: Database) -> None:
    br, pt = await queue(db, NewMessage(TO, "br"), NewMessage("+351912345678", "pt"))
    async with db.begin() as conn:
        got = await claim(conn, host="h", modem="sim0", prefixes=("+351",), now=utc_now(), limit=10)
    assert [m.id for m in got] == [pt]
    assert br != pt


async def test_cancel_only_while_queued(db: Database) -> None:
    first, second = await queue(db, NewMessage(TO, "a"), NewMessage(TO, "b"))
    async with db.begin() as conn:
        await cancel(conn, first, by="test")
    async with db.begin() as conn:
        [claimed] = await claim(conn, host="h", modem="sim0", now=utc_now())
    assert claimed.id == second
    with pytest.raises(CannotCancel, match="sending"):
        async with db.begin() as conn:
            await cancel(conn, second, by="test")
    with pytest.raises(CannotCancel, match="does not exist"):
        async with db.begin() as conn:
            await cancel(conn, 999999, by="test")


async def test_crash_recovery_marks_in_flight_parts_unknown(db: Database) -> None:
    message_id, untouched = await queue(db, NewMessage(TO, "y" * 300), NewMessage(TO, "b"))
    now = utc_now()
    async with db.begin() as conn:
        await conn.execute(insert(modems).values(name="sim0", host="h", device="/dev/null"))
        claimed = await claim(conn, host="h", modem="sim0", now=now, limit=2)
    first = claimed[0]
    assert first.id == message_id and len(first.parts) == 2
    async with db.begin() as conn:
        sent = await hand_over(conn, first, 0, modem="sim0", imsi="1", now=now)
        assert await answered(conn, sent, 7, modem="sim0", now=now) is None
        await hand_over(conn, first, 1, modem="sim0", imsi="1", now=now)
    # gatewayd dies here; another host's recovery must not touch it
    async with db.begin() as conn:
        other = await recover_after_crash(conn, host="elsewhere", now=now)
    assert other.unknown_parts == 0
    async with db.begin() as conn:
        recovery = await recover_after_crash(conn, host="h", now=now)
    assert recovery.unknown_parts == 1
    assert recovery.unknown_message_ids == (message_id,)
    async with db.read() as conn:
        rows = dict((await conn.execute(select(messages.c.id, messages.c.status))).all())
    assert rows == {message_id: "unknown", untouched: "queued"}


async def test_roll_up_of_a_fully_sent_message(db: Database) -> None:
    [message_id] = await queue(db, NewMessage(TO, "z"))
    now = utc_now()
    async with db.begin() as conn:
        await conn.execute(insert(modems).values(name="sim0", host="h", device="/dev/null"))
        [claimed] = await claim(conn, host="h", modem="sim0", now=now)
    assert claimed.id == message_id
    async with db.begin() as conn:
        slot = await hand_over(conn, claimed, 0, modem="sim0", imsi="1", now=now)
        change = await answered(conn, slot, 1, modem="sim0", now=now)
        assert await roll_up(conn, claimed.id, now=now) is None  # rolled up with its answer
    assert change is not None and change.status == "sent"
    async with db.read() as conn:
        sent_today = (await conn.execute(select(modems.c.sent_today))).scalar_one()
    assert sent_today == 1


async def test_concurrent_claims_never_share_a_message(pg_url: str) -> None:
    """Eight claimers race on PostgreSQL; SKIP LOCKED hands each message to exactly one."""
    db = Database(pg_url, pool_size=10)
    try:
        await queue(db, *(NewMessage(TO, f"m{i}") for i in range(200)))

        async def claimer(name: str) -> list[int]:
            taken: list[int] = []
            while True:
                async with db.begin() as conn:
                    got = await claim(conn, host="h", modem=name, now=utc_now(), limit=3)
                if not got:
                    return taken
                taken.extend(m.id for m in got)

        results = await asyncio.gather(*(claimer(f"sim{i}") for i in range(8)))
        every = [i for r in results for i in r]
        assert len(every) == 200
        assert len(set(every)) == 200
        assert sum(1 for r in results if r) >= 2
    finally:
        await db.close()
