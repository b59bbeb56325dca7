"""The mail outbox on PostgreSQL and SQLite: rows written in the caller's transaction, header
injection through the subject made harmless, bad addresses refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gatewayd.store import Database, outgoing_mail
from webui.services.errors import Invalid
from webui.services.mail_outbox import MAX_SUBJECT, queue_mail


async def test_queued_mail_is_pending_with_a_one_line_subject(db: Database) -> None:
    async with db.begin() as conn:
        mail_id = await queue_mail(
            conn,
            to="ops@example.com",
            subject="SMS from +5511\r\nBcc: victim@example.org\nX-Evil: 1",
            body="line one\r\nline two",
            reason="rule:7",
        )
    async with db.read() as conn:
        row = (await conn.execute(select(outgoing_mail))).one()
    assert row.id == mail_id
    assert "\n" not in row.subject and "\r" not in row.subject
    assert row.subject.startswith("SMS from +5511 Bcc: victim@example.org")
    assert row.body == "line one\nline two"
    assert row.sent_at is None and row.attempts == 0
    assert row.next_attempt_at == row.created_at


async def test_long_subject_is_cut_and_rollback_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.begin() as conn:
            await queue_mail(conn, to="a@b.example", subject="x" * 5000, body="", reason="t")
            row = (await conn.execute(select(outgoing_mail.c.subject))).one()
            assert len(row.subject) == MAX_SUBJECT
            raise RuntimeError("roll back")
    async with db.read() as conn:
        assert (await conn.execute(select(outgoing_mail))).all() == []


@pytest.mark.parametrize(
    "address", ["", "no-at-sign", "a@b.example\r\nBcc: c@d.example", "A <a@b.example>", "a@b, c@d"]
)
async def test_bad_addresses_are_refused(db: Database, address: str) -> None:
    async with db.begin() as conn:
        with pytest.raises(Invalid) as refused:
            await queue_mail(conn, to=address, subject="s", body="b", reason="t")
    assert refused.value.code == "invalid_email"
