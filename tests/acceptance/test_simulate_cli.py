"""`gatewayd simulate` as a process: devices, JSON lines, raw AT, control API, ledger, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
import serial

from gatewayd.sms import StatusReport, decode_pdu, encode_submit
from tests.support.ports import free_port

pytestmark = pytest.mark.acceptance
GATEWAYD = Path(sys.executable).with_name("gatewayd")


class Port:
    def __init__(self, path: str) -> None:
        self.serial = serial.Serial(path, 115200, timeout=5)

    async def command(self, data: bytes, until: bytes = b"OK\r\n") -> bytes:
        self.serial.write(data)
        return await self.read_until(until)

    async def read_until(self, until: bytes) -> bytes:
        seen: bytes = await asyncio.to_thread(self.serial.read_until, until)
        assert seen.endswith(until), seen
        return seen


async def _send(port: Port, recipient: str, text: str, until: bytes = b"OK\r\n") -> bytes:
    [part] = encode_submit(recipient, text, status_report=True)
    assert await port.command(f"AT+CMGS={part.tpdu_length}\r".encode(), b"> ") == b"\r\n> "
    port.serial.write(part.pdu.encode() + b"\x1a")
    return await port.read_until(until)


async def test_simulate_end_to_end(tmp_path: Path) -> None:
    control_port = free_port()
    ledger = tmp_path / "ledger.jsonl"
    process = await asyncio.create_subprocess_exec(
        str(GATEWAYD),
        "simulate",
        "--modems",
        "2",
        "--dir",
        str(tmp_path / "dev"),
        "--report-delay-ms",
        "20",
        "--latency-ms",
        "5",
        "--ledger",
        str(ledger),
        "--control",
        f"127.0.0.1:{control_port}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        lines = [await asyncio.wait_for(process.stdout.readline(), 20) for _ in range(2)]
        modems = [json.loads(line) for line in lines]
        assert [m["number"] for m in modems] == ["+5511990000001", "+5511990000002"]
        assert set(modems[0]) == {"device", "number", "imei", "imsi"}
        first, second = Port(modems[0]["device"]), Port(modems[1]["device"])
        await first.command(b"ATE0;+CNMI=1,2,0,1,0\r")
        await second.command(b"ATE0;+CNMI=2,1,0,1,0\r")

        answer = await _send(first, modems[1]["number"], "hello modem1")
        assert answer == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
        assert await second.read_until(b'+CMTI: "SM",1\r\n')
        report_line = await first.read_until(b"+CDS: ")
        assert report_line.endswith(b"+CDS: ")
        report_pdu = (await first.read_until(b"\r\n")) + (await first.read_until(b"\r\n"))
        report = decode_pdu(report_pdu.split(b"\r\n")[1].decode())
        assert isinstance(report, StatusReport)
        assert (report.mr, report.recipient, report.state) == (0, modems[1]["number"], "delivered")

        base = f"http://127.0.0.1:{control_port}"
        async with aiohttp.ClientSession() as http:
            injected = await http.post(
                f"{base}/modems/0/incoming", json={"from": "+5521999998888", "text": "oi"}
            )
            assert injected.status == 202
            assert await first.read_until(b"+CMT: ,")
            await first.read_until(b"\r\n")  # the length
            delivered = decode_pdu((await first.read_until(b"\r\n")).strip().decode())
            assert getattr(delivered, "text", None) == "oi"
            fault = await http.post(
                f"{base}/modems/0/fault", json={"kind": "cms_error", "code": 38, "count": 1}
            )
            assert fault.status == 200
            failed = await _send(first, "+5521987654321", "fails", b"ERROR: 38\r\n")
            assert failed == b"\r\n+CMS ERROR: 38\r\n"
            bad = await http.post(f"{base}/modems/0/fault", json={"kind": "nope"})
            assert bad.status == 400
            listed = await (await http.get(f"{base}/ledger")).json()
        assert [entry["text"] for entry in listed] == ["hello modem1"]
        [line] = ledger.read_text().splitlines()
        assert json.loads(line)["to"] == modems[1]["number"]
        first.serial.close()
        second.serial.close()

        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
        for modem in modems:
            assert not await asyncio.to_thread(os.path.lexists, modem["device"])
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_bad_arguments_give_one_line(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        str(GATEWAYD),
        "simulate",
        "--modems",
        "2",
        "--dir",
        str(tmp_path),
        "--first-number",
        "5511",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode != 0
    assert stderr.decode().count("\n") == 1 and "--first-number" in stderr.decode()
