"""`GammuModem` against Gammu's dummy phone (`Connection = none`, `Model = dummy`, a folder as
device): messages placed in the folder are read, converted to PDUs and deleted; sending through
the dummy returns Gammu's placeholder reference 255 and stores nothing."""

from __future__ import annotations

from pathlib import Path

import gammu
import pytest

from gatewayd.modem.gammu_driver import GammuModem
from gatewayd.sms import Deliver, decode_pdu, encode_submit

pytestmark = pytest.mark.timeout(60)


def place_message(folder: Path, number: str, text: str) -> None:
    """Put an SMS in the dummy phone's SIM inbox the way Gammu itself stores it."""
    writer = gammu.StateMachine()
    writer.SetConfig(0, {"Device": str(folder), "Connection": "none", "Model": "dummy"})
    writer.Init()
    writer.AddSMS(
        {
            "Number": number,
            "Text": text,
            "SMSC": {"Location": 1},
            "Folder": 1,
            "State": "UnRead",
            "Type": "Deliver",
        }
    )
    writer.Terminate()


async def test_dummy_phone_messages_are_read_and_deleted(tmp_path: Path) -> None:
    folder = tmp_path / "dummy"
    folder.mkdir()
    place_message(folder, "+5511987654321", "from the dummy")
    modem = GammuModem(str(folder), name="dummy", connection="none", model="dummy")
    async with modem:
        await modem.initialise()
        identity = await modem.identity()
        assert identity.imei == "999999999999999"
        stored = await modem.list_messages()
        assert len(stored) == 1
        decoded = decode_pdu(stored[0].pdu)
        assert isinstance(decoded, Deliver)
        assert (decoded.sender, decoded.text) == ("+5511987654321", "from the dummy")
        read = await modem.read_message(stored[0].index)
        assert read is not None and read.index == stored[0].index
        # The dummy phone stamps a message with the time it is read (no stored SCTS): only the
        # time stamp may differ between the listing and the read, across a second boundary.
        again = decode_pdu(read.pdu)
        assert isinstance(again, Deliver)
        assert (again.sender, again.text) == (decoded.sender, decoded.text)
        await modem.delete_message(stored[0].index)
        assert await modem.list_messages() == []
        part = encode_submit("+5511987654321", "into the void")[0]
        assert await modem.send_pdu(part.pdu, part.tpdu_length) == 255
        assert await modem.list_messages() == []
        health = await modem.health()
        assert health.registration.state == "home"
        assert health.operator == "GammuT3l"
