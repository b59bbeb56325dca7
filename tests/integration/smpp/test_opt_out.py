"""The opt-out list holds over SMPP too: a submit_sm to an opted-out number is refused with
ESME_RX_R_APPN and nothing is queued, on PostgreSQL and SQLite."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from gatewayd.smpp.constants import CommandStatus
from gatewayd.store import Database, messages, suppressions
from tests.integration.smpp.test_submit import NUMBER, submit
from tests.support.smpp import SmppClient


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
