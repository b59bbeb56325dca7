"""``gammu-smsd`` (files backend) against a simulated modem: send, receive, delivery report."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.peers.helpers import Simulator, require_programs, wait_until
from tests.peers.runners import GammuSmsd

pytestmark = [pytest.mark.peers, pytest.mark.timeout(120)]

NETWORK_SENDER = "+5511988887777"


@pytest.fixture
async def smsd(simulator: Simulator, tmp_path: Path) -> AsyncIterator[GammuSmsd]:
    require_programs("gammu-smsd", "gammu-smsd-inject")
    daemon = GammuSmsd.prepare(
        tmp_path / "gammu-smsd", simulator.modems[0], delivery_report="sms", debug_level=5
    )
    await daemon.start()
    try:
        yield daemon
    finally:
        await daemon.stop()


async def test_sends_an_injected_message_exactly_once(
    simulator: Simulator, smsd: GammuSmsd
) -> None:
    recipient = simulator.modems[1]
    text = "gammu-smsd outbox message"

    name = await smsd.inject(recipient.number, text, report=False)

    await wait_until(
        lambda: any(p.name == name for p in smsd.folder("sent")),
        timeout=60,
        what=f"{name} to move to the sent folder",
        diagnostics=smsd.diagnostics,
    )
    assert smsd.folder("outbox") == []
    assert smsd.folder("error") == []
    await smsd.stop()  # nothing can be resent behind our back once the daemon is gone
    accepted = [entry for entry in simulator.ledger() if entry.get("text") == text]
    assert len(accepted) == 1, simulator.ledger()
    assert accepted[0]["to"] == recipient.number
    assert accepted[0]["from"] == simulator.modems[0].number


async def test_receives_a_message_from_the_network(simulator: Simulator, smsd: GammuSmsd) -> None:
    text = "network to gammu-smsd"

    await simulator.inject_incoming(0, NETWORK_SENDER, text)

    def inbox_file_with_text() -> Path | None:
        for path in smsd.folder("inbox"):
            if text in path.read_text(encoding="utf-8", errors="replace"):
                return path
        return None

    found = await wait_until(
        inbox_file_with_text, timeout=60, what="the inbox file", diagnostics=smsd.diagnostics
    )
    assert NETWORK_SENDER in found.name


async def test_delivery_report_reaches_the_inbox(simulator: Simulator, smsd: GammuSmsd) -> None:
    recipient = simulator.modems[1]
    text = "gammu-smsd wants a report"

    name = await smsd.inject(recipient.number, text, report=True)

    await wait_until(
        lambda: any(p.name == name for p in smsd.folder("sent")),
        timeout=60,
        what=f"{name} to be sent",
        diagnostics=smsd.diagnostics,
    )
    accepted = [entry for entry in simulator.ledger() if entry.get("text") == text]
    assert len(accepted) == 1 and accepted[0]["status_report"] is True, simulator.ledger()

    def report_file_logged() -> str | None:
        log = smsd.log_path.read_text(encoding="utf-8", errors="replace")
        found = re.search(r"Delivery report (\S+)", log)
        return found.group(1) if found else None

    report_name = await wait_until(
        report_file_logged, timeout=60, what="the delivery report", diagnostics=smsd.diagnostics
    )
    report_file = smsd.spool / "inbox" / report_name
    assert recipient.number in report_name
    assert report_file.read_text(encoding="utf-8").strip() == "Delivered", smsd.diagnostics()


async def test_unicode_message_from_the_network_is_saved_as_utf8(
    simulator: Simulator, smsd: GammuSmsd
) -> None:
    text = "Atenção: reunião às 15h — até já ✓"

    await simulator.inject_incoming(0, NETWORK_SENDER, text)

    def inbox_texts() -> list[str]:
        return [path.read_text(encoding="utf-8", errors="replace") for path in smsd.folder("inbox")]

    await wait_until(
        lambda: text in inbox_texts(),
        timeout=60,
        what="the inbox file",
        diagnostics=smsd.diagnostics,
    )
