"""The opt-out list holds over SMPP too: a submit_sm to an opted-out number is refused with
ESME_RX_R_APPN and nothing is queued, on PostgreSQL and SQLite; within a group of submits
only that one is refused."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, insert, select

from gatewayd.smpp.codec import encode
from gatewayd.smpp.constants import CommandStatus
from gatewayd.store import Database, messages, suppressions
from tests.integration.smpp.test_submit import NUMBER, submit
from tests.integration.web.conftest import LogCapture
from tests.support.smpp import SmppClient

S = CommandStatus


async def test_submit_to_an_opted_out_number_is_refused(client: SmppClient, db: Database) -> None:
    async with db.begin() as conn:
        await conn.execute(
            insert(suppressions).values(
                number="+" + NUMBER, kind="opt_out", source="sms", created_by="sms:+" + NUMBER
            )
        )
    answer = await client.request(submit("promo"))
    assert answer.command_status == CommandStatus.ESME_RX_R_APPN
    async with db.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(messages)) == 0


async def test_an_opted_out_submit_in_a_group_is_refused_alone(
    client: SmppClient, db: Database, log_capture: LogCapture
) -> None:
    """Ten submits read at once are written as a group: the one to an opted-out number is
    answered ESME_RX_R_APPN, the nine others are queued in that group (not one by one)."""
    async with db.begin() as conn:
        await conn.execute(
            insert(suppressions).values(
                number="+" + NUMBER, kind="opt_out", source="sms", created_by="sms:+" + NUMBER
            )
        )
    numbers = [f"55119876543{n:02d}" for n in range(10)]
    numbers[4] = NUMBER
    sequences = [client.next_sequence() for _ in numbers]
    client.send_raw(
        b"".join(
            encode(submit(f"m{n}", to=to, sequence_number=sequence))
            for n, (to, sequence) in enumerate(zip(numbers, sequences, strict=True))
        )
    )
    answers = await asyncio.gather(*(client.answer_to(sequence) for sequence in sequences))
    statuses = [answer.command_status for answer in answers]
    assert statuses == [S.ESME_ROK] * 4 + [S.ESME_RX_R_APPN] + [S.ESME_ROK] * 5
    async with db.read() as conn:
        queued = (await conn.execute(select(messages.c.recipient))).scalars().all()
    assert sorted(queued) == sorted("+" + n for n in numbers if n != NUMBER)
    assert not log_capture.events("Group transaction failed; its items are done one by one")
