"""Hostile and broken input to the SMPP server: unknown command ids, truncated PDUs, an
oversize or undersize command_length, bodies whose lengths do not add up, garbage bytes, and
a database that goes away. Each gets the right status (or generic_nack and a closed
connection when the framing is lost), no traceback is logged, and another bind on the same
server carries on."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from gatewayd.smpp.codec import encode
from gatewayd.smpp.constants import CommandId, CommandStatus
from gatewayd.smpp.pdu import EnquireLink, GenericNack, SubmitSm
from gatewayd.sms.gsm7 import text_to_septets
from gatewayd.store import Database
from tests.integration.smpp.conftest import PASSWORD, base_settings
from tests.integration.web.conftest import LogCapture
from tests.support.smpp import Server, SmppClient, add_smpp_account, smpp_server, with_smpp

S = CommandStatus


def header(length: int, command_id: int, sequence: int, status: int = 0) -> bytes:
    return struct.pack(">IIII", length, command_id, status, sequence)


def submit(text: str = "hi") -> SubmitSm:
    return SubmitSm(
        sequence_number=0,
        dest_addr_ton=1,
        destination_addr="5511987654321",
        short_message=text_to_septets(text),
    )


async def still_serves(client: SmppClient) -> None:
    assert (await client.request(submit())).command_status == S.ESME_ROK


async def test_unknown_command_and_bad_bodies_are_answered_and_the_link_goes_on(
    client: SmppClient, server: Server, log_capture: LogCapture
) -> None:
    client.send_raw(header(16, 0x00000777, 41))
    nack = await client.answer_to(41)
    assert isinstance(nack, GenericNack) and nack.command_status == S.ESME_RINVCMDID
    body = bytearray(encode(submit()))
    body[12:16] = struct.pack(">I", 42)
    body[-1 - len(text_to_septets("hi"))] = 200  # sm_length says more than there is
    client.send_raw(bytes(body))
    short = await client.answer_to(42)
    assert short.command_id == CommandId.SUBMIT_SM_RESP
    assert short.command_status == S.ESME_RINVMSGLEN
    client.send_raw(header(20, CommandId.ENQUIRE_LINK, 43) + b"\0\0\0\0")  # a body it has none of
    assert (await client.answer_to(43)).command_status == S.ESME_RINVCMDLEN
    client.send_raw(header(16, CommandId.SUBMIT_SM, 44))  # no body at all
    truncated = await client.answer_to(44)
    assert truncated.command_id == CommandId.SUBMIT_SM_RESP and truncated.command_status != 0
    await still_serves(client)
    assert not [line for line in log_capture.events() if "exception" in line]


@pytest.mark.parametrize(
    "frame",
    [
        header(8, CommandId.ENQUIRE_LINK, 7),  # shorter than a header
        header(0x7FFFFFFF, CommandId.SUBMIT_SM, 7),  # oversize
        header(70_000, CommandId.SUBMIT_SM, 7),  # over the server's limit
    ],
    ids=["undersize", "oversize", "over-limit"],
)
async def test_broken_framing_gets_generic_nack_and_closes_that_connection_alone(
    client: SmppClient, server: Server, frame: bytes, log_capture: LogCapture
) -> None:
    async with await SmppClient.connect(server.port) as broken:
        assert (await broken.bind("erp", PASSWORD)).command_status == 0
        broken.send_raw(frame)
        nack = await broken.answer_to(7)
        assert isinstance(nack, GenericNack) and nack.command_status == S.ESME_RINVCMDLEN
        await asyncio.wait_for(broken.closed.wait(), 5)
    await still_serves(client)
    assert log_capture.events("SMPP framing broken, connection closed")
    assert not [line for line in log_capture.events() if "exception" in line]


async def test_a_truncated_pdu_then_silence_leaves_other_binds_alone(
    client: SmppClient, server: Server
) -> None:
    async with await SmppClient.connect(server.port) as half:
        half.send_raw(encode(EnquireLink(sequence_number=9))[:10])
        await still_serves(client)
        half.send_raw(encode(EnquireLink(sequence_number=9))[10:])  # the rest: a whole PDU
        assert (await half.answer_to(9)).command_id == CommandId.ENQUIRE_LINK_RESP


async def test_garbage_before_binding(server: Server, client: SmppClient) -> None:
    async with await SmppClient.connect(server.port) as junk:
        junk.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.wait_for(junk.closed.wait(), 5)
    await still_serves(client)


async def test_a_database_outage_answers_system_error_and_keeps_the_bind(
    pg_url: str, pg_admin_url: str, tmp_path: Path
) -> None:
    db = Database(pg_url)
    name = make_url(pg_url).database
    try:
        await add_smpp_account(db, "erp", PASSWORD)
        settings = with_smpp(base_settings(pg_url, tmp_path))
        async with (
            smpp_server(settings, db) as server,
            await SmppClient.connect(server.port) as client,
        ):
            assert (await client.bind("erp", PASSWORD)).command_status == 0
            admin = await asyncpg.connect(pg_admin_url)
            try:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    name,
                )
                down = await client.request(submit(), timeout=30)
                assert down.command_status == S.ESME_RSYSERR
            finally:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                await admin.close()
            assert not client.closed.is_set()
            await still_serves(client)
    finally:
        await db.close()
