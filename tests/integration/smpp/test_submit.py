"""Submitting over SMPP on real databases: submit_sm answered only once the message is
committed (with the id the HTTP API knows), a 10-deep window, a window overrun, data codings,
message_payload, client-side concatenation by UDH and by sar_* TLVs (each part its own
message and SMS, on one modem), schedule and validity in absolute and relative forms,
submit_multi with a bad destination, query_sm, cancel_sm, the account's limits, and text
invalid in its data_coding."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from gatewayd.queue.view import load_message
from gatewayd.smpp.codec import encode
from gatewayd.smpp.constants import CommandStatus, MessageState, Tag
from gatewayd.smpp.pdu import (
    CancelSm,
    DistributionList,
    Pdu,
    QuerySm,
    QuerySmResp,
    SmeAddress,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
)
from gatewayd.smpp.times import format_absolute
from gatewayd.smpp.tlv import Tlv
from gatewayd.sms import decode_pdu
from gatewayd.sms.gsm7 import text_to_septets
from gatewayd.sms.udh import concat_udh
from gatewayd.store import Database, message_parts, messages, modems, smpp_submits, utc_now
from tests.integration.smpp.conftest import PASSWORD
from tests.support.smpp import Server, SmppClient, add_smpp_account, settle

S = CommandStatus
NUMBER = "5511987654321"


def submit(text: str = "hello", to: str = NUMBER, **fields: Any) -> SubmitSm:
    values: dict[str, Any] = {
        "sequence_number": 0,
        "source_addr": "ERP",
        "source_addr_ton": 5,
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": to,
        "short_message": text_to_septets(text),
    }
    values.update(fields)
    return SubmitSm(**values)


async def row(db: Database, message_id: int) -> Any:
    async with db.read() as conn:
        return (await conn.execute(select(messages).where(messages.c.id == message_id))).one()


async def test_the_answer_comes_after_the_commit_with_the_api_id(
    client: SmppClient, db: Database
) -> None:
    answer = await client.request(submit("hello there", registered_delivery=1))
    assert isinstance(answer, SubmitSmResp) and answer.command_status == S.ESME_ROK
    message_id = int(answer.message_id)
    async with db.read() as conn:  # a new connection sees it: it was committed
        shown = await load_message(conn, message_id)
        extras = (
            await conn.execute(select(smpp_submits).where(smpp_submits.c.message_id == message_id))
        ).one()
    assert shown is not None
    assert (shown["to"], shown["text"], shown["status"]) == ("+" + NUMBER, "hello there", "queued")
    assert shown["status_report"] is True
    assert (extras.source_addr, extras.source_addr_ton, extras.registered_delivery) == ("ERP", 5, 1)
    assert (extras.destination_addr, extras.dest_addr_ton) == (NUMBER, 1)
    assert (await row(db, message_id)).created_by == "smpp:erp"


async def test_a_ten_deep_window_answers_every_request(client: SmppClient, db: Database) -> None:
    answers = await asyncio.gather(*(client.request(submit(f"m{n}")) for n in range(10)))
    assert all(a.command_status == S.ESME_ROK for a in answers)
    ids = [int(a.message_id) for a in answers]
    assert len(set(ids)) == 10
    texts = {(await row(db, i)).text for i in ids}
    assert texts == {f"m{n}" for n in range(10)}


async def test_requests_past_the_window_are_throttled(client: SmppClient) -> None:
    sequences = [client.next_sequence() for _ in range(14)]
    frames = b"".join(encode(submit(f"x{n}", sequence_number=s)) for n, s in enumerate(sequences))
    client.send_raw(frames)  # one write: the server reads them all before any is done
    answers = await asyncio.gather(*(client.answer_to(s) for s in sequences))
    statuses = [a.command_status for a in answers]
    assert statuses[:10] == [S.ESME_ROK] * 10
    assert statuses[10:] == [S.ESME_RTHROTTLED] * 4


@pytest.mark.parametrize(
    ("data_coding", "octets", "text"),
    [
        (0, text_to_septets("Olà @ 10€ ñ"), "Olà @ 10€ ñ"),
        (3, "Olá çà".encode("latin-1"), "Olá çà"),
        (8, "Привет 👋".encode("utf-16-be"), "Привет 👋"),
    ],
)
async def test_data_codings(
    client: SmppClient, db: Database, data_coding: int, octets: bytes, text: str
) -> None:
    answer = await client.request(submit(data_coding=data_coding, short_message=octets))
    assert answer.command_status == S.ESME_ROK
    assert (await row(db, int(answer.message_id))).text == text


async def test_message_payload_carries_a_long_text(client: SmppClient, db: Database) -> None:
    text = "long " * 80
    answer = await client.request(
        submit(short_message=b"", tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, text_to_septets(text)),))
    )
    message = await row(db, int(answer.message_id))
    assert (message.text, message.segments) == (text, 3)


async def add_online_modems(db: Database, *names: str) -> None:
    async with db.begin() as conn:
        for name in names:
            await conn.execute(
                insert(modems).values(name=name, host="h", device="/dev/null", state="online")
            )


async def parts_of(db: Database, message_id: int) -> list[Any]:
    async with db.read() as conn:
        return list(
            await conn.execute(
                select(message_parts).where(message_parts.c.message_id == message_id)
            )
        )


@pytest.mark.parametrize("by", ["udh", "sar"])
async def test_client_split_messages_go_part_by_part_on_one_modem(
    client: SmppClient, db: Database, by: str
) -> None:
    await add_online_modems(db, "m1", "m2", "m3")
    pieces = ["a" * 153, "b" * 153, "c" * 20]
    ids = []
    for seq, piece in enumerate(pieces, start=1):
        if by == "udh":
            pdu = submit(
                esm_class=0x40, short_message=concat_udh(77, 3, seq) + text_to_septets(piece)
            )
        else:
            pdu = submit(
                piece,
                tlvs=(
                    Tlv.u16(Tag.SAR_MSG_REF_NUM, 77),
                    Tlv.u8(Tag.SAR_TOTAL_SEGMENTS, 3),
                    Tlv.u8(Tag.SAR_SEGMENT_SEQNUM, seq),
                ),
            )
        answer = await client.request(pdu)
        assert answer.command_status == S.ESME_ROK
        ids.append(int(answer.message_id))
    assert len(set(ids)) == 3
    rows = [await row(db, i) for i in ids]
    assert [(r.segments, r.concat_ref, r.concat_total, r.concat_seq) for r in rows] == [
        (1, 77, 3, 1),
        (1, 77, 3, 2),
        (1, 77, 3, 3),
    ]
    assert [r.text for r in rows] == pieces
    assert len({r.modem for r in rows}) == 1 and rows[0].modem in {"m1", "m2", "m3"}
    for seq, message_id in enumerate(ids, start=1):
        [part] = await parts_of(db, message_id)
        decoded = decode_pdu(part.pdu)
        assert decoded.concat is not None
        assert (decoded.concat.ref, decoded.concat.total, decoded.concat.seq) == (77, 3, seq)


async def test_a_part_too_long_for_one_sms_is_refused(client: SmppClient) -> None:
    udh = concat_udh(5, 2, 1)
    answer = await client.request(submit(esm_class=0x40, short_message=udh + b"a" * 160))
    assert answer.command_status == S.ESME_RINVMSGLEN


@pytest.mark.parametrize("form", ["absolute", "relative"])
async def test_schedule_and_validity(client: SmppClient, db: Database, form: str) -> None:
    now = utc_now().replace(microsecond=0)
    if form == "absolute":
        local = timezone_minus_3()
        schedule = format_absolute((now + timedelta(hours=2)).astimezone(local))
        validity = format_absolute((now + timedelta(hours=5)).astimezone(local))
    else:
        schedule, validity = "000000020000000R", "000000050000000R"
    answer = await client.request(submit(schedule_delivery_time=schedule, validity_period=validity))
    assert answer.command_status == S.ESME_ROK
    message = await row(db, int(answer.message_id))
    assert abs(message.send_at - (now + timedelta(hours=2))) < timedelta(seconds=5)
    assert message.validity_minutes == 180


def timezone_minus_3() -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=-3))


async def test_bad_times_get_their_statuses(client: SmppClient) -> None:
    past = format_absolute(datetime.now(UTC) - timedelta(hours=1))
    bad_schedule = await client.request(submit(schedule_delivery_time="26130199000000+"))
    expired = await client.request(submit(validity_period=past))
    assert bad_schedule.command_status == S.ESME_RINVSCHED
    assert expired.command_status == S.ESME_RINVEXPIRY


async def test_submit_multi_reports_the_bad_destination(client: SmppClient, db: Database) -> None:
    pdu = SubmitMulti(
        sequence_number=0,
        source_addr="ERP",
        destinations=(
            SmeAddress(1, 1, "5511987654321"),
            SmeAddress(1, 1, "12"),
            DistributionList("staff"),
            SmeAddress(1, 1, "5511987654322"),
        ),
        short_message=text_to_septets("to many"),
    )
    answer = await client.request(pdu)
    assert isinstance(answer, SubmitMultiResp) and answer.command_status == S.ESME_ROK
    refused = {(u.address, u.error_status) for u in answer.unsuccess_smes}
    assert refused == {("12", S.ESME_RINVDSTADR), ("staff", S.ESME_RINVDLNAME)}
    first = int(answer.message_id)
    async with db.read() as conn:
        sent = await conn.execute(
            select(messages.c.recipient, smpp_submits.c.destination_addr)
            .join(smpp_submits, smpp_submits.c.message_id == messages.c.id)
            .where(messages.c.id >= first)
            .order_by(messages.c.id)
        )
        assert [tuple(r) for r in sent] == [
            ("+5511987654321", "5511987654321"),
            ("+5511987654322", "5511987654322"),
        ]


async def test_query_sm_maps_our_states(client: SmppClient, db: Database, server: Server) -> None:
    answer = await client.request(submit())
    message_id = answer.message_id
    queued = await client.request(QuerySm(sequence_number=0, message_id=message_id))
    assert isinstance(queued, QuerySmResp)
    assert (queued.message_state, queued.final_date) == (MessageState.ENROUTE, "")
    await settle(db, int(message_id), "delivered", report_status=0)
    done = await client.request(QuerySm(sequence_number=0, message_id=message_id))
    assert isinstance(done, QuerySmResp)
    assert done.message_state == MessageState.DELIVERED and done.final_date.endswith("+")
    unknown = await client.request(QuerySm(sequence_number=0, message_id="999999"))
    not_a_number = await client.request(QuerySm(sequence_number=0, message_id="abc"))
    assert unknown.command_status == S.ESME_RQUERYFAIL
    assert not_a_number.command_status == S.ESME_RINVMSGID
    await add_smpp_account(db, "other", PASSWORD)
    async with await SmppClient.connect(server.port) as other:
        assert (await other.bind("other", PASSWORD)).command_status == 0
        theirs = await other.request(QuerySm(sequence_number=0, message_id=message_id))
        assert theirs.command_status == S.ESME_RQUERYFAIL


async def test_cancel_sm_cancels_only_queued_messages_of_the_account(
    client: SmppClient, db: Database, server: Server
) -> None:
    later = "000001000000000R"
    first = (await client.request(submit(schedule_delivery_time=later))).message_id
    second = (await client.request(submit(schedule_delivery_time=later))).message_id
    await add_smpp_account(db, "other", PASSWORD)
    async with await SmppClient.connect(server.port) as other:
        assert (await other.bind("other", PASSWORD)).command_status == 0
        theirs = await other.request(CancelSm(sequence_number=0, message_id=first))
        assert theirs.command_status == S.ESME_RCANCELFAIL
    cancelled = await client.request(CancelSm(sequence_number=0, message_id=first))
    assert cancelled.command_status == S.ESME_ROK
    assert (await row(db, int(first))).status == "cancelled"
    again = await client.request(CancelSm(sequence_number=0, message_id=first))
    assert again.command_status == S.ESME_RCANCELFAIL
    by_source = await client.request(
        CancelSm(sequence_number=0, source_addr="ERP", destination_addr=NUMBER)
    )
    assert by_source.command_status == S.ESME_ROK
    assert (await row(db, int(second))).status == "cancelled"


async def test_the_accounts_limits_map_to_smpp_statuses(db: Database, server: Server) -> None:
    await add_smpp_account(db, "slow", PASSWORD, tps=0.01)
    await add_smpp_account(db, "small", PASSWORD, daily_quota=1)
    for system_id, status in [("slow", S.ESME_RTHROTTLED), ("small", S.ESME_RMSGQFUL)]:
        async with await SmppClient.connect(server.port) as client:
            assert (await client.bind(system_id, PASSWORD)).command_status == 0
            assert (await client.request(submit())).command_status == S.ESME_ROK
            assert (await client.request(submit())).command_status == status


async def test_invalid_input_is_refused_and_the_bind_goes_on(
    client: SmppClient, server: Server, db: Database
) -> None:
    cases: list[tuple[Pdu, int]] = [
        (submit(short_message=b"caf\xe9"), S.ESME_RSUBMITFAIL),  # not GSM septets
        (submit(data_coding=8, short_message=b"\x00A\x00"), S.ESME_RINVMSGLEN),
        (submit(data_coding=4, short_message=b"\x01\x02"), S.ESME_RSUBMITFAIL),
        (submit(to="not a number"), S.ESME_RINVDSTADR),
        (submit(short_message=b""), S.ESME_RINVMSGLEN),
        (submit(esm_class=0x04), S.ESME_RINVESMCLASS),
        (submit(priority_flag=9), S.ESME_RINVPRTFLG),
        (submit(esm_class=0x40, short_message=b"\x09\x00\x03"), S.ESME_RINVMSGLEN),
    ]
    async with await SmppClient.connect(server.port) as other:
        assert (await other.bind("erp", PASSWORD)).command_status == S.ESME_ROK
        for pdu, status in cases:
            answer = await client.request(pdu)
            assert answer.command_status == status, pdu
            assert (await other.request(submit())).command_status == S.ESME_ROK
    assert (await client.request(submit())).command_status == S.ESME_ROK
