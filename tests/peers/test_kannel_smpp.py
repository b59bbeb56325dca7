"""Kannel as an SMPP client (ESME) of the gateway: bearerbox binds to the SMPP server as a
transceiver (plain and over TLS), a message sent through smsbox's ``/cgi-bin/sendsms`` leaves
through a simulated modem and its delivery report reaches Kannel's ``dlr-url``, and an incoming
SMS routed to the account reaches Kannel's ``sms-service``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatewayd.config import ListenAddress
from tests.integration.core_flow.harness import EXTERNAL, flow
from tests.peers.helpers import require_programs, wait_until
from tests.peers.kannel_esme import KannelEsme
from tests.peers.receiver import HttpRecorder, RecordedRequest
from tests.support.smpp import add_smpp_account, self_signed, smpp_server, with_smpp

pytestmark = [pytest.mark.peers, pytest.mark.timeout(150)]

PASSWORD = "kannel1"
DLR_DELIVERED = "1"
DLR_SMSC_ACCEPTED = "8"


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
async def test_kannel_sends_gets_the_receipt_and_receives(
    sqlite_url: str, tmp_path: Path, http_recorder: HttpRecorder, tls: bool
) -> None:
    require_programs("bearerbox", "smsbox")
    options: dict[str, Any] = {}
    if tls:
        certificate, key = self_signed(tmp_path / "tls")
        options = {
            "listen": None,
            "tls_listen": ListenAddress("127.0.0.1", 0),
            "tls_certificate": certificate,
            "tls_key": key,
        }
    async with flow(sqlite_url, tmp_path, report_delay_ms=50) as running:
        await add_smpp_account(running.db, "kannel", PASSWORD, incoming_modems=["sim1"])
        settings = with_smpp(running.settings, **options)
        async with smpp_server(settings, running.db, running.bus, commit_lag=0.2) as server:
            kannel = KannelEsme.bound_to(
                tmp_path / "kannel",
                port=server.tls_port if tls else server.port,
                system_id="kannel",
                password=PASSWORD,
                mo_url=f"{http_recorder.base_url}/mo",
                tls=tls,
            )
            try:
                await kannel.start()
                dlr_url = f"{http_recorder.base_url}/dlr?type=%d&to=%p&id=%F"
                status, body = await kannel.sendsms(EXTERNAL, "via kannel", dlr_url=dlr_url)
                assert status == 202, body

                def report(kind: str) -> RecordedRequest | None:
                    return next(
                        (r for r in http_recorder.to_path("/dlr") if r.query.get("type") == kind),
                        None,
                    )

                def diagnostics() -> str:
                    return http_recorder.describe() + "\n" + kannel.diagnostics()

                delivered = await wait_until(
                    lambda: report(DLR_DELIVERED),
                    timeout=60,
                    what="Kannel's delivered DLR",
                    diagnostics=diagnostics,
                )
                assert report(DLR_SMSC_ACCEPTED) is not None, diagnostics()
                running.network.inject_incoming(1, "+5511900000055", "to kannel")
                incoming = await wait_until(
                    lambda: next(iter(http_recorder.to_path("/mo")), None),
                    timeout=60,
                    what="the incoming SMS at Kannel's sms-service",
                    diagnostics=diagnostics,
                )
            finally:
                await kannel.stop()
    sent = [entry for entry in running.network.ledger if entry.get("text") == "via kannel"]
    assert len(sent) == 1 and sent[0]["to"] == EXTERNAL and sent[0]["status_report"] is True
    assert delivered.query["to"].lstrip("+") == EXTERNAL.lstrip("+")
    assert incoming.query["text"] == "to kannel"
    assert incoming.query["from"].lstrip("+") == "5511900000055"
