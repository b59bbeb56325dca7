"""The SMPP server as the PyPI client ``smpplib`` sees it, over plain TCP and over TLS: bind
as a transceiver, send a long text split by smpplib itself (UDH parts), get each part's
message id, receive each part's receipt, query, unbind."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import pytest
import smpplib.client
import smpplib.consts
import smpplib.gsm

from gatewayd.config import ListenAddress
from gatewayd.store import Database
from tests.integration.smpp.conftest import PASSWORD, base_settings
from tests.support.smpp import (
    add_smpp_account,
    client_tls,
    self_signed,
    settle,
    smpp_server,
    with_smpp,
)

TEXT = "A long message from smpplib, split by the client itself into parts. " * 5


class Session:
    """smpplib's blocking client, driven from a thread."""

    def __init__(self, port: int, tls: ssl.SSLContext | None) -> None:
        self.client = smpplib.client.Client(
            "127.0.0.1", port, timeout=10, ssl_context=tls, allow_unknown_opt_params=True
        )
        self.sent: list[str] = []
        self.received: list[Any] = []
        self.client.set_message_sent_handler(lambda pdu: self.sent.append(pdu.message_id.decode()))
        self.client.set_message_received_handler(lambda pdu: self.received.append(pdu))

    def bind_and_send(self) -> int:
        self.client.connect()
        self.client.bind_transceiver(system_id="erp", password=PASSWORD)
        parts, coding, esm_class = smpplib.gsm.make_parts(TEXT)
        for part in parts:
            self.client.send_message(
                source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
                source_addr="ERP",
                dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                destination_addr="5511987654321",
                short_message=part,
                data_coding=coding,
                esm_class=esm_class,
                registered_delivery=True,
            )
        while len(self.sent) < len(parts):
            self.client.read_once()
        return len(parts)

    def read_receipts(self, count: int) -> None:
        while len(self.received) < count:
            self.client.read_once()

    def finish(self) -> None:
        self.client.unbind()
        self.client.disconnect()


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
async def test_smpplib_sends_a_split_message_and_gets_its_receipts(
    db: Database, db_url: str, tmp_path: Path, tls: bool
) -> None:
    await add_smpp_account(db, "erp", PASSWORD)
    options: dict[str, Any] = {}
    context = None
    if tls:
        certificate, key = self_signed(tmp_path / "tls")
        options = {
            "listen": None,
            "tls_listen": _any_port(),
            "tls_certificate": certificate,
            "tls_key": key,
        }
        context = client_tls(certificate)
        context.check_hostname = False  # smpplib wraps its socket without a host name;
        # the certificate is still verified against the one trusted file
    settings = with_smpp(base_settings(db_url, tmp_path), **options)
    async with smpp_server(settings, db, commit_lag=0.2) as server:
        port = server.tls_port if tls else server.port
        session = Session(port, context)
        count = await asyncio.to_thread(session.bind_and_send)
        assert count == 3 and len(set(session.sent)) == 3
        for message_id in session.sent:
            await settle(db, int(message_id), "delivered")
        await asyncio.wait_for(asyncio.to_thread(session.read_receipts, count), 30)
        await asyncio.to_thread(session.finish)
    receipted = {pdu.receipted_message_id.decode() for pdu in session.received}
    assert receipted == set(session.sent)
    assert all(pdu.esm_class == 0x04 and pdu.message_state == 2 for pdu in session.received)
    assert all(b"stat:DELIVRD" in pdu.short_message for pdu in session.received)


def _any_port() -> ListenAddress:
    return ListenAddress("127.0.0.1", 0)
