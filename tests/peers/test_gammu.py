"""The ``gammu`` command line against simulated modems: identify, send, read, status report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.peers.helpers import Simulator, require_programs, wait_until_async
from tests.peers.runners import GammuCli

pytestmark = [pytest.mark.peers, pytest.mark.timeout(120)]

SIMULATED_MANUFACTURER = "Gatewayd"


@pytest.fixture(autouse=True)
def _gammu_installed() -> None:
    require_programs("gammu")


def field(output: str, name: str) -> str | None:
    """The value of a ``Name : value`` line of gammu's output."""
    found = re.search(rf"^{re.escape(name)}\s*:\s*(.*?)\s*$", output, re.MULTILINE)
    return found.group(1) if found else None


async def test_identify_shows_the_simulated_modem(simulator: Simulator, tmp_path: Path) -> None:
    modem = simulator.modems[0]
    gammu = GammuCli.prepare(tmp_path / "gammu0", modem)

    result = await gammu.run("identify")

    assert result.returncode == 0, result.describe() + gammu.diagnostics()
    assert field(result.stdout, "IMEI") == modem.imei, result.describe()
    assert field(result.stdout, "SIM IMSI") == modem.imsi, result.describe()
    assert field(result.stdout, "Manufacturer") == SIMULATED_MANUFACTURER, result.describe()


async def test_sends_once_and_the_other_modem_reads_it(
    simulator: Simulator, tmp_path: Path
) -> None:
    sender, recipient = simulator.modems
    gammu_sender = GammuCli.prepare(tmp_path / "gammu0", sender)
    gammu_recipient = GammuCli.prepare(tmp_path / "gammu1", recipient)
    text = "gammu to modem1, hello"

    result = await gammu_sender.run("sendsms", "TEXT", recipient.number, "-text", text)

    assert result.returncode == 0, result.describe() + gammu_sender.diagnostics()
    assert "OK, message reference=" in result.stdout, result.describe()
    accepted = await simulator.wait_for_ledger_text(text, timeout=10, what="the ledger line")
    assert len(accepted) == 1, accepted
    assert accepted[0]["from"] == sender.number
    assert accepted[0]["to"] == recipient.number

    inbox = await gammu_recipient.run("getallsms")
    assert inbox.returncode == 0, inbox.describe() + gammu_recipient.diagnostics()
    assert text in inbox.stdout, inbox.describe()
    assert sender.number in inbox.stdout, inbox.describe()


async def test_status_report_is_stored_for_gammu_to_read(
    simulator: Simulator, tmp_path: Path
) -> None:
    """``sendsms -report`` does not wait for the report: it lands in the sender's storage."""
    sender, recipient = simulator.modems
    gammu = GammuCli.prepare(tmp_path / "gammu0", sender)
    text = "gammu asks for a report"

    result = await gammu.run("sendsms", "TEXT", recipient.number, "-report", "-text", text)

    assert result.returncode == 0, result.describe() + gammu.diagnostics()
    reference = re.search(r"message reference=(\d+)", result.stdout)
    assert reference, result.describe()
    accepted = await simulator.wait_for_ledger_text(text, timeout=10, what="the ledger line")
    assert len(accepted) == 1 and accepted[0]["status_report"] is True, accepted

    async def stored_report() -> str | None:
        listing = await gammu.run("getallsms")
        return listing.stdout if "SMS status report" in listing.stdout else None

    listing = await wait_until_async(
        stored_report, timeout=30, what="a stored status report", diagnostics=gammu.diagnostics
    )
    assert field(listing, "Reference number") == reference.group(1), listing
    assert field(listing, "Delivery status") == "Delivered", listing
    assert recipient.number in listing, listing


LONG_TEXT = " ".join(f"part{i:03d}" for i in range(40))  # 319 GSM-7 characters: three parts


async def test_long_message_goes_out_as_linked_parts(simulator: Simulator, tmp_path: Path) -> None:
    sender, recipient = simulator.modems
    gammu_sender = GammuCli.prepare(tmp_path / "gammu0", sender)
    gammu_recipient = GammuCli.prepare(tmp_path / "gammu1", recipient)

    result = await gammu_sender.run(
        "sendsms", "TEXT", recipient.number, "-len", str(len(LONG_TEXT)), "-text", LONG_TEXT
    )

    assert result.returncode == 0, result.describe() + gammu_sender.diagnostics()
    assert result.stdout.count("OK, message reference=") == 3, result.describe()
    parts = sorted(
        simulator.ledger_entries_to(recipient.number), key=lambda entry: entry["concat"]["seq"]
    )
    assert [entry["concat"]["seq"] for entry in parts] == [1, 2, 3], parts
    assert len({entry["concat"]["ref"] for entry in parts}) == 1, parts
    assert "".join(entry["text"] for entry in parts) == LONG_TEXT
    linked = await gammu_recipient.run("geteachsms")
    assert LONG_TEXT in linked.stdout, linked.describe()
    assert "3 SMS parts in 1 SMS sequences" in linked.stdout, linked.describe()


async def test_unicode_message_keeps_its_characters(simulator: Simulator, tmp_path: Path) -> None:
    sender, recipient = simulator.modems
    gammu = GammuCli.prepare(tmp_path / "gammu0", sender)
    text = "Atenção: reunião às 15h — até já ✓"

    result = await gammu.run("sendsms", "TEXT", recipient.number, "-unicode", "-text", text)

    assert result.returncode == 0, result.describe() + gammu.diagnostics()
    accepted = await simulator.wait_for_ledger_text(text, timeout=10, what="the ledger line")
    assert len(accepted) == 1, simulator.ledger()
