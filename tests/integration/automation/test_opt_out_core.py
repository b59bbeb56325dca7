"""The suppression lists in the send queue's core, on PostgreSQL and SQLite: every enqueue
refuses opted-out and blocked recipients; STOP / START by SMS change the list and confirm
once; words from alphanumeric senders change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert, select

from gatewayd.queue import InvalidMessage, NewMessage, enqueue, prepare
from gatewayd.queue.inbox import store_incoming
from gatewayd.queue.suppression import OptOutSettings, fold, refusals
from gatewayd.simulator.state import IncomingPart
from gatewayd.sms import Deliver, decode_pdu, encode_deliver
from gatewayd.store import Database, audit_log, messages, suppressions, utc_now
from tests.integration.core_flow.harness import eventually, flow

NUMBER = "+5511912345678"


async def listed(db: Database, number: str, kind: str, prefix: bool = False) -> None:
    async with db.begin() as conn:
        await conn.execute(
            insert(suppressions).values(
                number=number, kind=kind, prefix=prefix, source="api", created_by="test"
            )
        )


def deliver(sender: str, text: str) -> Deliver:
    [part] = encode_deliver(sender, text, scts=utc_now().replace(microsecond=0))
    decoded = decode_pdu(part.pdu)
    assert isinstance(decoded, Deliver)
    return decoded


async def test_enqueue_refuses_an_opted_out_number(db: Database) -> None:
    await listed(db, NUMBER, "opt_out")
    async with db.begin() as conn:
        with pytest.raises(InvalidMessage) as refused:
            await enqueue(conn, [prepare(NewMessage(NUMBER, "hi"))], created_by="cli")
        assert (await conn.execute(select(messages))).all() == []
    assert refused.value.code == "opted_out"


async def test_block_prefix_with_an_allowed_exception(db: Database) -> None:
    await listed(db, "+5511", "block", prefix=True)
    await listed(db, "+5511900000001", "allow")
    numbers = ["+5511900000001", "+5511900000002", "+5521900000003"]
    async with db.read() as conn:
        refused = await refusals(conn, numbers)
    assert list(refused) == ["+5511900000002"]
    assert "block list" in refused["+5511900000002"]


async def test_refusals_of_a_large_batch_in_few_lookups(db: Database) -> None:
    numbers = [f"+55119{i:08d}" for i in range(20_000)]
    await listed(db, numbers[12_345], "opt_out")
    async with db.read() as conn:
        refused = await refusals(conn, numbers)
    assert list(refused) == [numbers[12_345]]


def test_words_are_folded_and_whole() -> None:
    settings = OptOutSettings()
    assert fold("  Descadastrár! ") == "DESCADASTRAR"
    assert settings.word_of("stop") is not None
    assert settings.word_of("Sáir.") is not None
    assert settings.word_of("please stop calling") is None
    assert settings.word_of("voltar").value == "allow"  # type: ignore[union-attr]


async def test_stop_by_sms_lists_and_confirms_once(db: Database) -> None:
    for _ in range(2):
        async with db.begin() as conn:
            await store_incoming(
                conn, deliver(NUMBER, "Stop"), modem="sim0", imsi="1", now=utc_now()
            )
        async with db.begin() as conn:  # the same word again, as a new SMS
            await store_incoming(
                conn, deliver(NUMBER, "PARAR"), modem="sim0", imsi="1", now=utc_now()
            )
    async with db.read() as conn:
        rows = (await conn.execute(select(suppressions.c.number, suppressions.c.kind))).all()
        sent = (await conn.execute(select(messages.c.recipient, messages.c.text))).all()
        audited = (await conn.execute(select(audit_log.c.action, audit_log.c.actor))).all()
    assert rows == [(NUMBER, "opt_out")]
    assert len(sent) == 1 and sent[0].recipient == NUMBER and "START" in sent[0].text
    assert audited == [("optout.add", "sms:" + NUMBER)]
    async with db.begin() as conn:
        await store_incoming(conn, deliver(NUMBER, "voltar"), modem="sim0", imsi="1", now=utc_now())
    async with db.read() as conn:
        assert (await conn.execute(select(suppressions))).all() == []
        assert len((await conn.execute(select(messages))).all()) == 2
    async with db.begin() as conn:
        await enqueue(conn, [prepare(NewMessage(NUMBER, "welcome back"))], created_by="cli")


async def test_alphanumeric_sender_changes_nothing(db: Database) -> None:
    async with db.begin() as conn:
        await store_incoming(conn, deliver("ACME", "STOP"), modem="sim0", imsi="1", now=utc_now())
    async with db.read() as conn:
        assert (await conn.execute(select(suppressions))).all() == []
        assert (await conn.execute(select(messages))).all() == []


async def test_stop_through_the_simulator(db_url: str, tmp_path: Path) -> None:
    [part] = encode_deliver(NUMBER, "UNSUBSCRIBE", scts=utc_now().replace(microsecond=0))
    async with flow(db_url, tmp_path, modems=1) as f:
        f.handles[0].modem.receive(IncomingPart("deliver", part.pdu, part.tpdu_length))

        async def listed_now() -> bool:
            return await f.count(suppressions) == 1

        await eventually(listed_now, timeout=10, what="the sender on the opt-out list")
        with pytest.raises(InvalidMessage) as refused:
            await f.send(NewMessage(NUMBER, "promo"))
    assert refused.value.code == "opted_out"
