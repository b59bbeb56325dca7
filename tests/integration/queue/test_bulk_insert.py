"""Rows written at driver speed (:mod:`gatewayd.queue.bulk`) on real PostgreSQL and SQLite:
one row, a batch (one INSERT of arrays on PostgreSQL) and a large batch (COPY) store the same
values, NULLs, JSON and time zones included; a value too long for its column is refused
whichever way it goes, never cut short. Messages and the rows other tables keep of them are
written together (one statement on PostgreSQL), or not at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from gatewayd.queue import NewMessage, prepare
from gatewayd.queue.bulk import COPY_FROM_ROWS, UNNEST_FROM_ROWS, BulkInsert
from gatewayd.queue.enqueue import QueueRequest, enqueue_requests
from gatewayd.store import Database, audit_log, message_events, message_parts, messages

AT = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
write_audit = BulkInsert(audit_log, ("at", "actor", "action", "target", "detail", "client_address"))


def rows(count: int) -> list[tuple[Any, ...]]:
    return [
        (
            AT + timedelta(seconds=index),
            f"smpp:çlient{index}",
            "message.send",
            None if index % 2 else f"message:{index}",
            {"count": index, "to": "+5511987654321"} if index % 3 else None,
            "10.0.0.1" if index % 2 else None,
        )
        for index in range(count)
    ]


@pytest.mark.parametrize("count", [1, UNNEST_FROM_ROWS, 50, COPY_FROM_ROWS])
@pytest.mark.parametrize("alike", [False, True])
async def test_every_size_stores_the_same_values(db: Database, count: int, alike: bool) -> None:
    written = rows(count)
    if alike:  # every column but the first the same in every row: each sent as one value
        written = [(row[0], *written[0][1:]) for row in written]
    async with db.begin() as conn:
        await write_audit.run(conn, written)
    async with db.read() as conn:
        stored = (
            await conn.execute(
                select(
                    audit_log.c.at,
                    audit_log.c.actor,
                    audit_log.c.action,
                    audit_log.c.target,
                    audit_log.c.detail,
                    audit_log.c.client_address,
                ).order_by(audit_log.c.id)
            )
        ).all()
    assert [tuple(row) for row in stored] == written


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("count", [1, 50, COPY_FROM_ROWS])
@pytest.mark.parametrize("rows_too_long", ["last", "every"])
async def test_a_value_too_long_is_refused_not_cut(
    db: Database, count: int, rows_too_long: str
) -> None:
    written = rows(count)
    too_long = (AT, "x" * 101, "message.send", None, None, None)  # actor is VARCHAR(100)
    if rows_too_long == "every":  # the column is sent as one value
        written = [too_long] * count
    written[-1] = too_long
    with pytest.raises(DBAPIError):
        async with db.begin() as conn:
            await write_audit.run(conn, written)
    async with db.read() as conn:
        assert (await conn.execute(select(audit_log.c.id))).first() is None


def requests(count: int) -> list[QueueRequest]:
    return [
        QueueRequest([prepare(NewMessage(f"+55119876543{index:02d}", f"text {index}"))], "test")
        for index in range(count)
    ]


@pytest.mark.parametrize("count", [1, 30])
async def test_messages_and_rows_built_from_their_ids_are_written_together(
    db: Database, count: int
) -> None:
    def audit_rows(id_lists: list[list[int]]) -> list[tuple[BulkInsert, list[tuple[Any, ...]]]]:
        entries = [
            (AT, "test", "message.send", f"message:{ids[0]}", None, None) for ids in id_lists
        ]
        return [(write_audit, entries)]

    async with db.begin() as conn:
        id_lists = await enqueue_requests(conn, requests(count), now=AT, also=audit_rows)
    async with db.read() as conn:
        stored = (await conn.execute(select(messages.c.id).order_by(messages.c.id))).scalars()
        parts = (await conn.execute(select(message_parts.c.message_id))).scalars()
        events = (await conn.execute(select(message_events.c.message_id))).scalars()
        targets = (await conn.execute(select(audit_log.c.target))).scalars()
        ids = [ids[0] for ids in id_lists]
        assert list(stored) == ids
        assert sorted(parts) == ids and sorted(events) == ids
        assert sorted(targets) == sorted(f"message:{i}" for i in ids)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_refused_row_of_another_table_writes_no_message(db: Database) -> None:
    def refused(id_lists: list[list[int]]) -> list[tuple[BulkInsert, list[tuple[Any, ...]]]]:
        return [(write_audit, [(AT, "x" * 101, "message.send", None, None, None)])]

    with pytest.raises(DBAPIError):
        async with db.begin() as conn:
            await enqueue_requests(conn, requests(5), now=AT, also=refused)
    async with db.read() as conn:
        assert (await conn.execute(select(messages.c.id))).first() is None
