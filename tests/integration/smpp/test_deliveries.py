"""deliver_sm from the SMPP server: receipts for every final state as registered_delivery
asks (written as gatewayd writes them, and through the real daemon on simulated modems),
incoming SMS routed to an account's receivers (whole or as parts), and the outbox's
durability: a deliver_sm not acknowledged is sent again after a reconnect and after a restart
of the server, and is done only once answered ESME_ROK."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gatewayd.smpp.codec import encode
from gatewayd.smpp.constants import ESM_UDHI, CommandStatus, MessageState
from gatewayd.smpp.pdu import DeliverSm, DeliverSmResp, SubmitSm
from gatewayd.smpp.receipt import ReceiptStat, parse_receipt
from gatewayd.smpp.text import message_content
from gatewayd.sms.gsm7 import septets_to_text, text_to_septets
from gatewayd.sms.udh import concat_udh
from gatewayd.store import Database, smpp_deliveries
from tests.integration.core_flow.harness import EXTERNAL, eventually, flow
from tests.integration.smpp.conftest import PASSWORD, base_settings
from tests.support.smpp import (
    Server,
    SmppClient,
    add_smpp_account,
    settle,
    smpp_server,
    with_smpp,
)

S = CommandStatus
FAST = {"commit_lag": 0.2}


def submit(
    registered_delivery: int, text: str = "hello receipt", to: str = "5511987654321"
) -> SubmitSm:
    return SubmitSm(
        sequence_number=0,
        source_addr="12345",
        source_addr_ton=3,
        source_addr_npi=1,
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=to,
        registered_delivery=registered_delivery,
        short_message=text_to_septets(text),
    )


def receipt_of(pdu: DeliverSm) -> Any:
    assert pdu.esm_class == 0x04
    return parse_receipt(pdu.short_message.decode("ascii"))


@pytest.fixture
async def fast_server(db: Database, db_url: str, tmp_path: Path) -> Any:
    async with smpp_server(with_smpp(base_settings(db_url, tmp_path)), db, **FAST) as running:
        yield running


async def bound(server: Server, mode: str = "transceiver", system_id: str = "erp") -> SmppClient:
    client = await SmppClient.connect(server.port)
    assert (await client.bind(system_id, PASSWORD, mode)).command_status == 0
    return client


@pytest.mark.parametrize(
    ("status", "sent", "stat", "state"),
    [
        ("delivered", True, ReceiptStat.DELIVRD, MessageState.DELIVERED),
        ("failed", True, ReceiptStat.UNDELIV, MessageState.UNDELIVERABLE),
        ("failed", False, ReceiptStat.REJECTD, MessageState.REJECTED),
        ("expired", True, ReceiptStat.EXPIRED, MessageState.EXPIRED),
        ("unknown", True, ReceiptStat.UNKNOWN, MessageState.UNKNOWN),
    ],
)
async def test_a_receipt_for_each_final_state(
    fast_server: Server,
    db: Database,
    status: str,
    sent: bool,
    stat: ReceiptStat,
    state: MessageState,
) -> None:
    await add_smpp_account(db, "erp", PASSWORD)
    client = await bound(fast_server)
    async with client:
        answer = await client.request(submit(1))
        message_id = answer.message_id
        await settle(db, int(message_id), status, report_status=70 if sent else None, sent=sent)
        delivered = await client.next_delivered()
    receipt = receipt_of(delivered)
    assert (receipt.message_id, receipt.stat, receipt.text) == (message_id, stat, "hello receipt")
    assert receipt.err == ("070" if sent else "000")
    assert delivered.receipted_message_id == message_id
    assert delivered.message_state == state
    assert (delivered.source_addr, delivered.source_addr_ton) == ("5511987654321", 1)
    assert (delivered.destination_addr, delivered.dest_addr_ton) == ("12345", 3)


async def test_registered_delivery_two_gets_failures_only(
    fast_server: Server, db: Database
) -> None:
    await add_smpp_account(db, "erp", PASSWORD)
    async with await bound(fast_server) as client:
        fine = (await client.request(submit(2, "fine"))).message_id
        lost = (await client.request(submit(2, "lost"))).message_id
        silent = (await client.request(submit(0, "quiet"))).message_id
        await settle(db, int(fine), "delivered")
        await settle(db, int(silent), "failed")
        await settle(db, int(lost), "failed")
        delivered = await client.next_delivered()
        assert receipt_of(delivered).message_id == lost
    async with db.read() as conn:
        rows = (await conn.execute(select(smpp_deliveries.c.message_id))).all()
    assert [r.message_id for r in rows] == [int(lost)]


async def test_receipts_through_the_real_daemon(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, report_delay_ms=50) as running:
        await add_smpp_account(running.db, "erp", PASSWORD)
        settings = with_smpp(running.settings)
        async with (
            smpp_server(settings, running.db, running.bus, **FAST) as server,
            await bound(server) as client,
        ):
            pdu = submit(1, "through the modem", to=EXTERNAL.lstrip("+"))
            message_id = (await client.request(pdu)).message_id
            delivered = await client.next_delivered(timeout=30)
    receipt = receipt_of(delivered)
    assert (receipt.message_id, receipt.stat) == (message_id, ReceiptStat.DELIVRD)
    assert receipt.text == "through the modem"


async def test_client_split_parts_leave_with_the_clients_header_by_one_modem(
    db_url: str, tmp_path: Path
) -> None:
    pieces = ["first half " * 13 + "end", "second half"]
    async with flow(db_url, tmp_path, modems=3) as running:
        await add_smpp_account(running.db, "erp", PASSWORD)
        settings = with_smpp(running.settings)
        async with (
            smpp_server(settings, running.db, running.bus, **FAST) as server,
            await bound(server) as client,
        ):
            for seq, piece in enumerate(pieces, start=1):
                pdu = submit(0, to=EXTERNAL.lstrip("+"))
                pdu = replace(
                    pdu,
                    esm_class=0x40,
                    short_message=concat_udh(201, 2, seq) + text_to_septets(piece),
                )
                assert (await client.request(pdu)).command_status == 0
            entries = await running.network.wait_for_ledger(2, timeout=30)
    assert sorted(e["text"] for e in entries) == sorted(pieces)
    assert {e["modem"] for e in entries} == {entries[0]["modem"]}
    concat = sorted((e["concat"]["ref"], e["concat"]["total"], e["concat"]["seq"]) for e in entries)
    assert concat == [(201, 2, 1), (201, 2, 2)]


@pytest.mark.parametrize("as_parts", [False, True])
async def test_incoming_sms_reach_the_accounts_receiver(
    db_url: str, tmp_path: Path, as_parts: bool
) -> None:
    long_text = "incoming " * 40
    async with flow(db_url, tmp_path) as running:
        await add_smpp_account(
            running.db,
            "erp",
            PASSWORD,
            incoming_modems=["sim1"],
            incoming_as_parts=as_parts,
        )
        await add_smpp_account(running.db, "other", PASSWORD, incoming_modems=["sim0"])
        settings = with_smpp(running.settings)
        async with smpp_server(settings, running.db, running.bus, **FAST) as server:
            other = await bound(server, "receiver", "other")
            async with other, await bound(server, "receiver") as client:
                running.network.inject_incoming(1, "+5511900000009", "hi there")
                short = await client.next_delivered()
                running.network.inject_incoming(1, "+5511900000009", long_text)
                parts = [await client.next_delivered()]
                if as_parts:
                    parts += [await client.next_delivered() for _ in range(2)]
            assert other.delivered.empty()
    assert (short.source_addr, short.source_addr_ton, short.destination_addr) == (
        "5511900000009",
        1,
        "sim1",
    )
    assert septets_to_text(short.short_message) == "hi there" and short.esm_class == 0
    if as_parts:
        assert all(p.esm_class & ESM_UDHI for p in parts)
        contents = [message_content(p) for p in parts]
        assert [c.concat.seq for c in contents if c.concat] == [1, 2, 3]
        assert "".join(c.text for c in contents) == long_text
    else:
        [whole] = parts
        assert whole.short_message == b"" and whole.message_payload is not None
        assert message_content(whole).text == long_text


async def test_an_unacknowledged_receipt_comes_again_after_a_reconnect_and_a_restart(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    await add_smpp_account(db, "erp", PASSWORD)
    settings = with_smpp(base_settings(db_url, tmp_path))
    async with smpp_server(settings, db, **FAST) as server:
        client = await bound(server)
        client.ack_status = S.ESME_RX_T_APPN  # refused: sent again after redelivery_delay
        message_id = (await client.request(submit(1))).message_id
        await settle(db, int(message_id), "delivered")
        first = await client.next_delivered()
        again = await client.next_delivered()
        client.ack_status = None  # no answer at all, then the connection goes
        third = await client.next_delivered()
        await client.close()
        async with await bound(server) as reconnected:
            reconnected.ack_status = None
            fourth = await reconnected.next_delivered()
            await reconnected.close()
    assert {receipt_of(p).message_id for p in (first, again, third, fourth)} == {message_id}
    assert await pending(db) == 1
    async with smpp_server(settings, db, **FAST) as restarted, await bound(restarted) as client:
        fifth = await client.next_delivered()
        assert receipt_of(fifth).message_id == message_id
        await wait_for_pending(db, 0)


async def pending(db: Database) -> int:
    async with db.read() as conn:
        rows = await conn.execute(
            select(smpp_deliveries.c.id).where(smpp_deliveries.c.status == "pending")
        )
        return len(rows.all())


async def wait_for_pending(db: Database, count: int, timeout: float = 10.0) -> None:
    async def settled() -> bool:
        return await pending(db) == count

    await eventually(settled, timeout=timeout, what=f"{count} pending deliver_sm")


async def test_several_binds_of_one_account_share_its_outbox(
    fast_server: Server, db: Database
) -> None:
    await add_smpp_account(db, "erp", PASSWORD)
    async with await bound(fast_server, "transmitter") as sender:
        ids = [(await sender.request(submit(1, f"m{n}"))).message_id for n in range(6)]
        async with (
            await bound(fast_server, "receiver") as one,
            await bound(fast_server, "receiver") as two,
        ):
            for message_id in ids:
                await settle(db, int(message_id), "delivered")
            seen: list[str] = []

            async def all_seen() -> bool:
                for receiver in (one, two):
                    while not receiver.delivered.empty():
                        seen.append(receipt_of(receiver.delivered.get_nowait()).message_id)
                return len(seen) >= 6

            await eventually(all_seen, timeout=15, what="six receipts")
            assert sorted(seen) == sorted(ids)
            assert sender.delivered.empty()  # a transmitter gets no deliver_sm
    await wait_for_pending(db, 0)


async def test_receipts_go_a_window_at_a_time_and_each_answer_settles_its_own(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    """Twelve receipts to a receiver with a window of 5: five go out and no more until they
    are answered; one answered with an error comes again, the others are done."""
    await add_smpp_account(db, "erp", PASSWORD)
    settings = with_smpp(base_settings(db_url, tmp_path), window=5)
    async with smpp_server(settings, db, **FAST) as server:
        async with await bound(server, "transmitter") as sender:
            ids = [(await sender.request(submit(1, f"m{n}"))).message_id for n in range(12)]
        for message_id in ids:
            await settle(db, int(message_id), "delivered")
        async with await bound(server, "receiver") as receiver:
            receiver.ack_status = None
            first = [await receiver.next_delivered() for _ in range(5)]
            with pytest.raises(TimeoutError):
                await receiver.next_delivered(timeout=1.0)  # the window is full
            refused = first[0]
            receiver.send_raw(
                b"".join(
                    encode(
                        DeliverSmResp(
                            sequence_number=pdu.sequence_number,
                            command_status=S.ESME_RX_T_APPN if pdu is refused else S.ESME_ROK,
                        )
                    )
                    for pdu in first
                )
            )
            receiver.ack_status = S.ESME_ROK
            seen = [receipt_of(pdu).message_id for pdu in first]
            while len(seen) < 13:
                seen.append(receipt_of(await receiver.next_delivered()).message_id)
            await wait_for_pending(db, 0)
    assert sorted(seen) == sorted([*ids, receipt_of(refused).message_id])
