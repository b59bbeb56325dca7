"""Binding to the SMPP server: the three modes, unbind, refused binds with their statuses
(unknown system_id, wrong password, revoked, locked out after repeated failures, with the log
line), requests out of state, enquire_link both ways, idle and bind timeouts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import update

from gatewayd.smpp.constants import CommandId, CommandStatus
from gatewayd.smpp.pdu import BindTransceiverResp, EnquireLink, QuerySm, SubmitSm
from gatewayd.store import Database, accounts, utc_now
from tests.integration.smpp.conftest import PASSWORD, base_settings
from tests.integration.web.conftest import LogCapture
from tests.support.smpp import Server, SmppClient, add_smpp_account, smpp_server, with_smpp

S = CommandStatus


@pytest.mark.parametrize("mode", ["transmitter", "receiver", "transceiver"])
async def test_bind_and_unbind_in_each_mode(server: Server, account: int, mode: str) -> None:
    async with await SmppClient.connect(server.port) as client:
        answer = await client.bind("erp", PASSWORD, mode)
        assert answer.command_status == S.ESME_ROK
        assert answer.command_id == CommandId[f"BIND_{mode.upper()}_RESP"]
        assert answer.system_id == "smsgw"
        assert server.running.registry.counts() == {mode: 1}
        unbound = await client.unbind()
        assert unbound.command_id == CommandId.UNBIND_RESP and unbound.command_status == 0
        await asyncio.wait_for(client.closed.wait(), 5)
    assert server.running.registry.counts() == {}


async def test_refused_binds_get_their_status_and_another_bind_goes_on(
    server: Server, db: Database, account: int, log_capture: LogCapture
) -> None:
    await add_smpp_account(db, "old", PASSWORD, revoked_at=utc_now())
    async with await SmppClient.connect(server.port) as good:
        assert (await good.bind("erp", PASSWORD)).command_status == S.ESME_ROK
        for system_id, password, status in [
            ("nobody", PASSWORD, S.ESME_RINVSYSID),
            ("erp", "wrong", S.ESME_RINVPASWD),
            ("old", PASSWORD, S.ESME_RBINDFAIL),
        ]:
            async with await SmppClient.connect(server.port) as other:
                answer = await other.bind(system_id, password)
                assert isinstance(answer, BindTransceiverResp)
                assert answer.command_status == status, system_id
        assert (await good.request(EnquireLink(sequence_number=0))).command_status == 0
    reasons = [line["reason"] for line in log_capture.events("Failed SMPP bind")]
    assert reasons == ["unknown_system_id", "wrong_password", "revoked"]


async def test_repeated_wrong_passwords_lock_the_pair_out(
    server: Server, account: int, log_capture: LogCapture
) -> None:
    async with await SmppClient.connect(server.port) as client:
        statuses = [(await client.bind("erp", f"bad{n}")).command_status for n in range(5)]
        locked = await client.bind("erp", PASSWORD)
    assert statuses == [S.ESME_RINVPASWD] * 5
    assert locked.command_status == S.ESME_RBINDFAIL
    failed = log_capture.events("Failed SMPP bind")
    assert failed[-1]["reason"] == "locked_out"
    assert failed[-1]["client_address"] == "127.0.0.1" and failed[-1]["system_id"] == "erp"


async def test_requests_out_of_state(server: Server, account: int) -> None:
    async with await SmppClient.connect(server.port) as client:
        early = await client.request(SubmitSm(sequence_number=0, destination_addr="5511"))
        assert early.command_status == S.ESME_RINVBNDSTS
        assert (await client.request(EnquireLink(sequence_number=0))).command_status == 0
        assert (await client.bind("erp", PASSWORD, "receiver")).command_status == 0
        again = await client.bind("erp", PASSWORD)
        assert again.command_status == S.ESME_RALYBND
        receiver_submits = await client.request(SubmitSm(sequence_number=0))
        assert receiver_submits.command_status == S.ESME_RINVBNDSTS
        query = await client.request(QuerySm(sequence_number=0, message_id="1"))
        assert query.command_status == S.ESME_RINVBNDSTS


async def test_silence_brings_an_enquire_link_and_no_answer_closes(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    await add_smpp_account(db, "erp", PASSWORD)
    settings = with_smpp(base_settings(db_url, tmp_path), enquire_link_interval=0.3)
    async with (
        smpp_server(settings, db) as server,
        await SmppClient.connect(server.port) as client,
    ):
        assert (await client.bind("erp", PASSWORD)).command_status == 0
        asked = await asyncio.wait_for(client.requests.get(), 5)
        assert asked.command_id == CommandId.ENQUIRE_LINK  # answered by the client
        client.answers_requests = False
        await asyncio.wait_for(client.closed.wait(), 10)
        assert server.running.registry.counts() == {}


async def test_idle_binds_are_unbound_and_unbound_connections_closed(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    await add_smpp_account(db, "erp", PASSWORD)
    settings = with_smpp(base_settings(db_url, tmp_path), idle_timeout=0.5, bind_timeout=0.5)
    async with smpp_server(settings, db) as server:
        async with await SmppClient.connect(server.port) as silent:
            await asyncio.wait_for(silent.closed.wait(), 5)
        async with await SmppClient.connect(server.port) as idle:
            assert (await idle.bind("erp", PASSWORD)).command_status == 0
            unbind = await asyncio.wait_for(idle.requests.get(), 5)
            assert unbind.command_id == CommandId.UNBIND
            await asyncio.wait_for(idle.closed.wait(), 10)


async def test_revoking_an_account_unbinds_its_binds_and_refuses_new_ones(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    await add_smpp_account(db, "erp", PASSWORD)
    await add_smpp_account(db, "other", PASSWORD)
    settings = with_smpp(base_settings(db_url, tmp_path))
    async with (
        smpp_server(settings, db, account_refresh=0.2) as server,
        await SmppClient.connect(server.port) as client,
        await SmppClient.connect(server.port) as other,
    ):
        assert (await client.bind("erp", PASSWORD)).command_status == 0
        assert (await other.bind("other", PASSWORD)).command_status == 0
        async with db.begin() as conn:
            await conn.execute(
                update(accounts).where(accounts.c.name == "erp").values(revoked_at=utc_now())
            )
        unbind = await asyncio.wait_for(client.requests.get(), 10)
        assert unbind.command_id == CommandId.UNBIND
        await asyncio.wait_for(client.closed.wait(), 10)
        assert server.running.registry.counts() == {"transceiver": 1}
        async with await SmppClient.connect(server.port) as again:
            assert (await again.bind("erp", PASSWORD)).command_status == S.ESME_RBINDFAIL
        assert (await other.request(EnquireLink(sequence_number=0))).command_status == 0
