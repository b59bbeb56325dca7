"""Modems claiming together (:func:`claim_for_modems`) follow the rules of a claim each: best
first, a bound message only to its modem, never to a modem's own number, not back to the modem
that failed it within the avoidance window."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from gatewayd.queue import Claimer, GroupClaim, NewMessage, claim_for_modems, enqueue, prepare
from gatewayd.store import Database, messages, utc_now

HOST = "h1"


async def queue(db: Database, *news: NewMessage) -> list[int]:
    async with db.begin() as conn:
        ids, _ = await enqueue(conn, [prepare(n) for n in news], created_by="test")
    return ids


def number(i: int) -> str:
    return f"+55119900{i:05d}"


async def claim_together(
    db: Database, *claimers: Claimer, avoid_for: timedelta = timedelta(seconds=30)
) -> GroupClaim:
    async with db.begin() as conn:
        return await claim_for_modems(conn, list(claimers), now=utc_now(), avoid_for=avoid_for)


def general(*names: str) -> list[Claimer]:
    return [Claimer(HOST, name) for name in names]


async def test_each_modem_takes_a_different_message_best_first(db: Database) -> None:
    low = await queue(db, *(NewMessage(number(i), "low") for i in range(4)))
    [urgent] = await queue(db, NewMessage(number(9), "urgent", priority=5))
    group = await claim_together(db, *general("a", "b", "c"))
    taken = {modem: row.id for modem, row in group.claimed.items()}
    assert taken == {"a": urgent, "b": low[0], "c": low[1]}
    assert not group.exhausted  # five messages for three modems: more may wait
    async with db.read() as conn:
        rows = (await conn.execute(select(messages).where(messages.c.id.in_(taken.values())))).all()
    assert {(r.status, r.claimed_by, r.attempts) for r in rows} == {("sending", HOST, 1)}
    assert {r.id for r in rows} == set(taken.values())
    again = await claim_together(db, *general("a", "b", "c"))
    assert {row.id for row in again.claimed.values()} == {low[2], low[3]}
    assert again.exhausted


async def test_a_bound_message_goes_to_its_modem_only(db: Database) -> None:
    [free] = await queue(db, NewMessage(number(1), "anyone"))
    [for_b] = await queue(db, NewMessage(number(2), "b only", modem="b"))
    [for_z] = await queue(db, NewMessage(number(3), "z only", modem="z"))
    group = await claim_together(db, *general("a", "b"))
    assert {m: r.id for m, r in group.claimed.items()} == {"a": free, "b": for_b}
    alone = await claim_together(db, *general("a", "b"))
    assert alone.claimed == {} and alone.exhausted
    async with db.read() as conn:
        status = await conn.execute(select(messages.c.status).where(messages.c.id == for_z))
        assert status.scalar_one() == "queued"


async def test_no_modem_sends_to_its_own_number(db: Database) -> None:
    [to_a] = await queue(db, NewMessage(number(7), "to a's SIM"))
    a = Claimer(HOST, "a", own_number=number(7))
    only_a = await claim_together(db, a)
    assert only_a.claimed == {} and only_a.exhausted
    group = await claim_together(db, a, Claimer(HOST, "b"))
    assert {m: r.id for m, r in group.claimed.items()} == {"b": to_a}


async def test_a_failing_modem_leaves_the_message_to_others_for_a_while(db: Database) -> None:
    [failed] = await queue(db, NewMessage(number(5), "failed on a"))
    async with db.begin() as conn:
        await conn.execute(
            update(messages)
            .where(messages.c.id == failed)
            .values(avoid_modem="a", updated_at=utc_now())
        )
    assert (await claim_together(db, *general("a"))).claimed == {}
    group = await claim_together(db, *general("a", "b"))
    assert {m: r.id for m, r in group.claimed.items()} == {"b": failed}


async def test_after_the_window_the_failing_modem_takes_it_again(db: Database) -> None:
    [failed] = await queue(db, NewMessage(number(6), "failed on a"))
    async with db.begin() as conn:
        await conn.execute(
            update(messages)
            .where(messages.c.id == failed)
            .values(avoid_modem="a", updated_at=utc_now() - timedelta(seconds=1))
        )
    group = await claim_together(db, *general("a"), avoid_for=timedelta(0))
    assert {m: r.id for m, r in group.claimed.items()} == {"a": failed}


async def test_scheduled_messages_wait(db: Database) -> None:
    later = utc_now() + timedelta(hours=1)
    await queue(db, NewMessage(number(8), "later", send_at=later))
    group = await claim_together(db, *general("a", "b"))
    assert group.claimed == {} and group.exhausted
