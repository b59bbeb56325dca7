"""smstools 3 ``smsd`` against a simulated modem: outgoing spool, incoming, status report."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.peers.helpers import Simulator, require_programs, wait_until
from tests.peers.runners import SmsTools

pytestmark = [pytest.mark.peers, pytest.mark.timeout(120)]

NETWORK_SENDER = "+5511988887777"


@pytest.fixture
async def smstools(simulator: Simulator, tmp_path: Path) -> AsyncIterator[SmsTools]:
    require_programs("smsd")
    daemon = SmsTools.prepare(tmp_path / "smstools", simulator.modems[0])
    await daemon.start()
    try:
        yield daemon
    finally:
        await daemon.stop()


def header(path: Path, name: str) -> str | None:
    found = re.search(
        rf"^{re.escape(name)}:\s*(.*?)\s*$",
        path.read_text(encoding="utf-8", errors="replace"),
        re.MULTILINE,
    )
    return found.group(1) if found else None


async def test_sends_a_spooled_message_exactly_once(
    simulator: Simulator, smstools: SmsTools
) -> None:
    recipient = simulator.modems[1]
    text = "smstools outgoing file"

    smstools.queue_message("peers-send", recipient.number, text, report=False)

    sent = smstools.spool / "sent" / "peers-send"
    await wait_until(
        sent.exists, timeout=60, what="the message file in sent/", diagnostics=smstools.diagnostics
    )
    assert smstools.folder("failed") == []
    await smstools.stop()  # nothing can be resent behind our back once the daemon is gone
    accepted = [entry for entry in simulator.ledger() if entry.get("text") == text]
    assert len(accepted) == 1, simulator.ledger()
    assert accepted[0]["to"] == recipient.number
    assert accepted[0]["status_report"] is False
    assert header(sent, "Modem") == "GSM1"


async def test_receives_a_message_from_the_network(
    simulator: Simulator, smstools: SmsTools
) -> None:
    text = "network to smstools"

    await simulator.inject_incoming(0, NETWORK_SENDER, text)

    def incoming_with_text() -> Path | None:
        for path in smstools.folder("incoming"):
            if text in path.read_text(encoding="utf-8", errors="replace"):
                return path
        return None

    found = await wait_until(
        incoming_with_text, timeout=60, what="the incoming file", diagnostics=smstools.diagnostics
    )
    assert header(found, "From") == NETWORK_SENDER.lstrip("+")


async def test_status_report_is_read_from_storage(simulator: Simulator, smstools: SmsTools) -> None:
    recipient = simulator.modems[1]
    text = "smstools wants a report"

    smstools.queue_message("peers-report", recipient.number, text, report=True)

    sent = smstools.spool / "sent" / "peers-report"
    await wait_until(
        sent.exists, timeout=60, what="the message to be sent", diagnostics=smstools.diagnostics
    )
    message_id = header(sent, "Message_id")
    assert message_id is not None, sent.read_text()

    def report_file() -> Path | None:
        for path in smstools.folder("report"):
            if "SMS STATUS REPORT" in path.read_text(encoding="utf-8", errors="replace"):
                return path
        return None

    found = await wait_until(
        report_file, timeout=60, what="the status report file", diagnostics=smstools.diagnostics
    )
    assert header(found, "Message_id") == message_id, found.read_text()
    assert header(found, "From") == recipient.number.lstrip("+"), found.read_text()
    status = header(found, "Status") or ""
    assert status.startswith("0,"), found.read_text()


async def test_long_incoming_message_is_combined(simulator: Simulator, smstools: SmsTools) -> None:
    text = " ".join(f"part{i:03d}" for i in range(40))  # three linked parts

    await simulator.inject_incoming(0, NETWORK_SENDER, text)

    def incoming_with_last_part() -> list[Path]:
        return [
            path
            for path in smstools.folder("incoming")
            if "part039" in path.read_text(encoding="utf-8", errors="replace")
        ]

    found = await wait_until(
        incoming_with_last_part,
        timeout=60,
        what="the combined message",
        diagnostics=smstools.diagnostics,
    )
    assert len(found) == 1 and len(smstools.folder("incoming")) == 1, smstools.folder("incoming")
    assert found[0].read_text(encoding="utf-8").rstrip("\n").endswith("\n\n" + text)


async def test_unicode_incoming_message_is_written_as_utf8(
    simulator: Simulator, smstools: SmsTools
) -> None:
    text = "Atenção: reunião às 15h — até já ✓"

    await simulator.inject_incoming(0, NETWORK_SENDER, text)

    def incoming_with_text() -> Path | None:
        for path in smstools.folder("incoming"):
            if text in path.read_text(encoding="utf-8", errors="replace"):
                return path
        return None

    found = await wait_until(
        incoming_with_text, timeout=60, what="the incoming file", diagnostics=smstools.diagnostics
    )
    assert header(found, "Alphabet") == "UTF-8"
