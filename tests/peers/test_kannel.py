"""Kannel (bearerbox with smsc = at, smsbox) against a simulated modem."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.peers.helpers import Simulator, require_programs, wait_until
from tests.peers.receiver import HttpRecorder, RecordedRequest
from tests.peers.runners import Kannel

pytestmark = [pytest.mark.peers, pytest.mark.timeout(120)]

NETWORK_SENDER = "+5511988887777"
DLR_DELIVERED = "1"
DLR_SMSC_ACCEPTED = "8"


@pytest.fixture
async def kannel(
    simulator: Simulator, http_recorder: HttpRecorder, tmp_path: Path
) -> AsyncIterator[Kannel]:
    require_programs("bearerbox", "smsbox")
    boxes = Kannel.prepare(
        tmp_path / "kannel", simulator.modems[0], mo_url=f"{http_recorder.base_url}/mo"
    )
    try:
        await boxes.start()
        yield boxes
    finally:
        await boxes.stop()


async def test_sendsms_goes_out_once_and_is_reported_delivered(
    simulator: Simulator, kannel: Kannel, http_recorder: HttpRecorder
) -> None:
    recipient = simulator.modems[1]
    text = "kannel sendsms with dlr"
    dlr_url = f"{http_recorder.base_url}/dlr?type=%d&to=%p&smsc=%i"

    status, body = await kannel.sendsms(recipient.number, text, dlr_url=dlr_url)

    assert status == 202, body
    assert "Accepted for delivery" in body

    def report_of_type(kind: str) -> RecordedRequest | None:
        return next((r for r in http_recorder.to_path("/dlr") if r.query.get("type") == kind), None)

    def diagnostics() -> str:
        return http_recorder.describe() + "\n" + kannel.diagnostics()

    delivered = await wait_until(
        lambda: report_of_type(DLR_DELIVERED),
        timeout=60,
        what="the delivered DLR callback",
        diagnostics=diagnostics,
    )
    assert delivered.query["smsc"] == kannel.smsc_id
    assert report_of_type(DLR_SMSC_ACCEPTED) is not None, diagnostics()
    await kannel.stop()  # nothing can be resent behind our back once the boxes are gone
    accepted = [entry for entry in simulator.ledger() if entry.get("text") == text]
    assert len(accepted) == 1, simulator.ledger()
    assert accepted[0]["to"] == recipient.number
    assert accepted[0]["status_report"] is True


async def test_incoming_messages_short_and_long_reach_the_sms_service(
    simulator: Simulator, kannel: Kannel, http_recorder: HttpRecorder
) -> None:
    short_text = "network to kannel"
    long_text = " ".join(f"part{i:03d}" for i in range(40))  # three linked parts

    await simulator.inject_incoming(0, NETWORK_SENDER, short_text)
    await simulator.inject_incoming(0, NETWORK_SENDER, long_text)

    requests = await wait_until(
        lambda: [r for r in http_recorder.to_path("/mo") if "part039" in r.query["text"]],
        timeout=60,
        what="the sms-service request for the long message",
        diagnostics=lambda: http_recorder.describe() + "\n" + kannel.diagnostics(),
    )
    assert [request.query["text"] for request in http_recorder.to_path("/mo")] == [
        short_text,
        long_text,
    ], http_recorder.describe()
    assert requests[0].query["from"] == NETWORK_SENDER
    assert requests[0].query["smsc"] == kannel.smsc_id
    assert simulator.ledger() == [], "the service must not have sent a reply SMS"


async def test_unicode_text_survives_both_directions(
    simulator: Simulator, kannel: Kannel, http_recorder: HttpRecorder
) -> None:
    recipient = simulator.modems[1]
    outgoing = "Atenção: reunião às 15h — até já ✓"
    incoming = "Confirmado, obrigado! ✓ çãõ"

    status, body = await kannel.sendsms(recipient.number, outgoing, unicode=True)
    await simulator.inject_incoming(0, NETWORK_SENDER, incoming)

    assert status == 202, body
    sent = await simulator.wait_for_ledger_text(
        outgoing, timeout=60, what="the UCS-2 message", diagnostics=kannel.diagnostics
    )
    assert len(sent) == 1 and sent[0]["to"] == recipient.number, simulator.ledger()
    received = await wait_until(
        lambda: http_recorder.to_path("/mo"),
        timeout=60,
        what="the sms-service request",
        diagnostics=lambda: http_recorder.describe() + "\n" + kannel.diagnostics(),
    )
    assert [request.query["text"] for request in received] == [incoming]
