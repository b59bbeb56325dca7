"""The schema's guarantees, checked on both back ends: aware UTC times, uniqueness used for
idempotency and de-duplication, status checks, foreign keys and cascades, JSON columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from gatewayd.store import (
    Database,
    MessageStatus,
    audit_log,
    incoming_fragments,
    incoming_messages,
    message_events,
    message_parts,
    messages,
    utc_now,
)


def message(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "recipient": "+5511987654321",
        "text": "hello",
        "encoding": "gsm7",
        "segments": 1,
    }
    values.update(overrides)
    return values


async def add_message(db: Database, **overrides: Any) -> int:
    async with db.begin() as conn:
        statement = insert(messages).values(**message(**overrides)).returning(messages.c.id)
        return int((await conn.execute(statement)).scalar_one())


async def test_new_message_gets_defaults_and_aware_utc_times(db: Database) -> None:
    before = utc_now()
    message_id = await add_message(db)
    async with db.read() as conn:
        row = (await conn.execute(select(messages).where(messages.c.id == message_id))).one()
    assert row.status == MessageStatus.QUEUED
    assert (row.priority, row.attempts, row.status_report, row.flash) == (0, 0, False, False)
    assert row.created_by == "system"
    assert row.created_at.tzinfo is not None and row.created_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= row.created_at <= utc_now()


async def test_times_in_other_zones_come_back_as_the_same_instant_in_utc(db: Database) -> None:
    sao_paulo = timezone(timedelta(hours=-3))
    send_at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=sao_paulo)
    message_id = await add_message(db, send_at=send_at)
    async with db.read() as conn:
        stored = (
            await conn.execute(select(messages.c.send_at).where(messages.c.id == message_id))
        ).scalar_one()
    assert stored == send_at
    assert stored.tzinfo == UTC and stored.hour == 12 and stored.microsecond == 123456


async def test_time_comparisons_in_queries_follow_the_instant(db: Database) -> None:
    now = utc_now()
    due = await add_message(db, send_at=now - timedelta(minutes=1))
    await add_message(db, send_at=now + timedelta(minutes=1))
    async with db.read() as conn:
        ids = (
            (await conn.execute(select(messages.c.id).where(messages.c.send_at <= now)))
            .scalars()
            .all()
        )
    assert ids == [due]


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await add_message(db, send_at=datetime(2026, 1, 1, 12, 0))


async def test_unknown_status_is_refused(db: Database) -> None:
    with pytest.raises(IntegrityError):
        await add_message(db, status="lost")


async def test_idempotency_key_is_unique_per_creator(db: Database) -> None:
    await add_message(db, created_by="api_key:1", idempotency_key="k-1")
    await add_message(db, created_by="api_key:2", idempotency_key="k-1")
    await add_message(db, created_by="api_key:1")
    await add_message(db, created_by="api_key:1")
    with pytest.raises(IntegrityError):
        await add_message(db, created_by="api_key:1", idempotency_key="k-1")


async def test_message_ids_are_not_reused_after_delete(db: Database) -> None:
    first = await add_message(db)
    async with db.begin() as conn:
        await conn.execute(delete(messages).where(messages.c.id == first))
    assert await add_message(db) == first + 1


async def test_parts_need_their_message_and_go_with_it(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.begin() as conn:
            await conn.execute(insert(message_parts).values(message_id=999, seq=1, total=1))
    message_id = await add_message(db, segments=2)
    async with db.begin() as conn:
        for seq in (1, 2):
            await conn.execute(
                insert(message_parts).values(message_id=message_id, seq=seq, total=2, mr=seq)
            )
        await conn.execute(
            insert(message_events).values(message_id=message_id, status="queued", detail="api")
        )
    with pytest.raises(IntegrityError):
        async with db.begin() as conn:
            await conn.execute(insert(message_parts).values(message_id=message_id, seq=1, total=2))
    async with db.begin() as conn:
        await conn.execute(delete(messages).where(messages.c.id == message_id))
    async with db.read() as conn:
        parts = (await conn.execute(select(func.count()).select_from(message_parts))).scalar()
        events = (await conn.execute(select(func.count()).select_from(message_events))).scalar()
    assert (parts, events) == (0, 0)


async def test_incoming_duplicates_are_refused_by_dedupe_key(db: Database) -> None:
    row = {
        "sender": "+5511911112222",
        "text": "oi",
        "modem": "m0",
        "received_at": utc_now(),
        "dedupe_key": "a" * 64,
    }
    async with db.begin() as conn:
        await conn.execute(insert(incoming_messages).values(**row))
    with pytest.raises(IntegrityError):
        async with db.begin() as conn:
            await conn.execute(insert(incoming_messages).values(**row))


async def test_a_fragment_is_stored_once(db: Database) -> None:
    fragment = {
        "modem": "m0",
        "modem_imsi": "724051234567890",
        "sender": "+5511911112222",
        "concat_ref": 40000,
        "total": 3,
        "seq": 2,
        "text": "middle",
        "scts": utc_now(),
    }
    async with db.begin() as conn:
        await conn.execute(insert(incoming_fragments).values(**fragment))
        await conn.execute(insert(incoming_fragments).values(**{**fragment, "seq": 3}))
    with pytest.raises(IntegrityError):
        async with db.begin() as conn:
            await conn.execute(insert(incoming_fragments).values(**fragment))


async def test_json_details_round_trip(db: Database) -> None:
    detail = {"role": "operator", "changed": ["password"], "ok": True, "n": 3, "text": "ação"}
    async with db.begin() as conn:
        await conn.execute(
            insert(audit_log).values(
                actor="user:admin", action="user.update", detail=detail, client_address="::1"
            )
        )
    async with db.read() as conn:
        row = (await conn.execute(select(audit_log))).one()
    assert row.detail == detail
    assert row.at.tzinfo == UTC
