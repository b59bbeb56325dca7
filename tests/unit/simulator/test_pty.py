"""Raw AT over real ptys with pyserial: the device path, the line, unplugging and return."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import serial

from gatewayd.simulator import ModemHandle, SimNetwork
from gatewayd.sms import Deliver, decode_pdu, encode_submit


def _exists(path: str) -> bool:
    try:
        os.readlink(path)
    except FileNotFoundError:
        return False
    return True


class Port:
    """A pyserial port whose blocking reads run in a thread, so the simulator keeps running."""

    def __init__(self, path: str) -> None:
        self.serial = serial.Serial(path, 115200, timeout=3)

    async def command(self, data: bytes, until: bytes = b"OK\r\n") -> bytes:
        self.serial.write(data)
        return await self.read_until(until)

    async def read_until(self, until: bytes) -> bytes:
        seen: bytes = await asyncio.to_thread(self.serial.read_until, until)
        assert seen.endswith(until), seen
        return seen

    def close(self) -> None:
        self.serial.close()


@pytest.fixture
async def started(tmp_path: Path) -> AsyncIterator[tuple[SimNetwork, list[ModemHandle]]]:
    network = SimNetwork(report_delay_ms=10)
    handles = await network.start(2, tmp_path / "dev")
    yield network, handles
    await network.close()


async def test_symlinks_point_at_ptys(started: tuple[SimNetwork, list[ModemHandle]]) -> None:
    _, handles = started
    for handle in handles:
        assert os.readlink(handle.device).startswith("/dev/pts/")
    assert [h.number for h in handles] == ["+5511990000001", "+5511990000002"]


async def test_send_between_modems_over_ptys(
    started: tuple[SimNetwork, list[ModemHandle]],
) -> None:
    network, handles = started
    sender, receiver = Port(handles[0].device), Port(handles[1].device)
    try:
        assert await sender.command(b"AT\r") == b"AT\r\r\nOK\r\n"
        await sender.command(b"ATE0\r")
        await receiver.command(b"ATE0;+CNMI=1,2,0,1,0\r")
        [part] = encode_submit(handles[1].number, "over the pty", status_report=True)
        assert await sender.command(f"AT+CMGS={part.tpdu_length}\r".encode(), b"> ") == (b"\r\n> ")
        answer = await sender.command(part.pdu.encode() + b"\x1a")
        assert answer == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
        incoming = await receiver.read_until(b"\r\n+CMT: ")
        pdu = (await receiver.read_until(b"\r\n")) + (await receiver.read_until(b"\r\n"))
        decoded = decode_pdu(pdu.split(b"\r\n")[1].decode())
        assert incoming == b"\r\n+CMT: "
        assert isinstance(decoded, Deliver) and decoded.text == "over the pty"
        assert network.ledger[0]["to"] == handles[1].number
    finally:
        sender.close()
        receiver.close()


async def test_disconnect_removes_the_device_and_clear_brings_it_back(
    started: tuple[SimNetwork, list[ModemHandle]],
) -> None:
    network, handles = started
    port = Port(handles[0].device)
    await port.command(b"ATE0\r")
    network.fault(0, "disconnect")
    assert not _exists(handles[0].device)
    with pytest.raises(serial.SerialException):
        port.serial.write(b"AT\r")
        port.serial.read(1)
    port.close()
    network.inject_incoming(0, "+5521987654321", "while away")
    network.fault(0, "clear")
    assert _exists(handles[0].device)
    again = Port(handles[0].device)
    try:
        assert await again.command(b"AT\r") == b"AT\r\r\nOK\r\n"  # echo back on: fresh modem
        listing = await again.command(b"AT+CMGL=4\r")
        assert b"+CMGL: 1,0,," in listing
    finally:
        again.close()
