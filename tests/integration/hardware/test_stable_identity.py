"""Modems bound by IMEI/ICCID rather than by port name: `gatewayd modems --scan` over simulator
ports, a modem found again after re-enumerating under another name, a port answering as another
modem, and a port held by another process reported with the fix."""

from __future__ import annotations

import asyncio
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import serial

from gatewayd.config import ModemSettings
from gatewayd.modem.at_driver import AtModem
from gatewayd.modem.errors import ModemDisconnected
from gatewayd.modem.identity import ModemIdentity
from gatewayd.modem.locate import find_port, probe_port
from gatewayd.simulator import ModemHandle, SimNetwork
from gatewayd.worker.stable_identity import WrongModem, check_identity, relocate

pytestmark = pytest.mark.timeout(60)
GATEWAYD = Path(sys.executable).with_name("gatewayd")


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[tuple[SimNetwork, list[ModemHandle], Path]]:
    network = SimNetwork(profile=["ec25", "sim800"])
    folder = tmp_path / "by-id"
    handles = await network.start(2, folder)
    try:
        yield network, handles, folder
    finally:
        await network.close()


async def run_cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(GATEWAYD),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 45)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_scan_prints_modem_tables_ready_to_paste(
    sim: tuple[SimNetwork, list[ModemHandle], Path],
) -> None:
    _, handles, folder = sim
    code, out, err = await run_cli("modems", "--scan", "--glob", f"{folder}/modem*")
    assert code == 0, err
    tables = tomllib.loads(out)["modem"]
    assert [(t["device"], t["imei"]) for t in tables] == [(h.device, h.imei) for h in handles]
    assert [t["name"] for t in tables] == ["modem1", "modem2"]
    assert tables[0]["iccid"] == handles[0].modem.identity.iccid
    assert "# Quectel EC25" in out and "# SIMCOM_Ltd SIMCOM_SIM800" in out


async def test_scan_of_an_empty_glob_says_so(tmp_path: Path) -> None:
    code, out, _ = await run_cli("modems", "--scan", "--glob", f"{tmp_path}/nothing*")
    assert code == 1
    assert out.strip() == "# no serial port found"


async def test_modem_found_again_after_reenumeration(
    sim: tuple[SimNetwork, list[ModemHandle], Path],
) -> None:
    network, handles, folder = sim
    config = ModemSettings(
        name="ec25", device=handles[0].device, imei=handles[0].imei, device_globs=(f"{folder}/*",)
    )
    network.fault(0, "disconnect")
    assert handles[0].device not in {str(path) for path in folder.iterdir()}
    port = network.ports[0]
    port.link = folder / "ttyUSB7"  # the kernel gives it another name when it comes back
    network.reconnect(0)
    found = await relocate(config, handles[0].device)
    assert found == str(folder / "ttyUSB7")
    probe = await probe_port(found)
    assert probe.identity is not None and probe.identity.imei == handles[0].imei


async def test_wrong_modem_on_the_configured_port(
    sim: tuple[SimNetwork, list[ModemHandle], Path],
) -> None:
    _, handles, folder = sim
    config = ModemSettings(name="ec25", device=handles[1].device, imei=handles[0].imei)
    probe = await probe_port(handles[1].device)
    assert probe.identity is not None
    with pytest.raises(WrongModem, match=handles[0].imei):
        check_identity(config, probe.identity, handles[1].device)
    assert (
        await find_port(
            imei=handles[0].imei, iccid=None, globs=(f"{folder}/*",), skip=(handles[1].device,)
        )
        == handles[0].device
    )
    other_sim = ModemIdentity(None, None, None, handles[0].imei, None, "8955000000000000000")
    with pytest.raises(WrongModem, match="holds SIM"):
        check_identity(
            ModemSettings(name="x", device="/dev/x", iccid="8955050000000000001"),
            other_sim,
            "/dev/x",
        )


async def test_port_held_by_another_process_is_reported_with_the_fix(
    sim: tuple[SimNetwork, list[ModemHandle], Path],
) -> None:
    _, handles, folder = sim
    holder = serial.Serial(handles[0].device, exclusive=True)
    try:
        with pytest.raises(ModemDisconnected) as raised:
            await AtModem(handles[0].device).open()
        message = str(raised.value)
        assert "is held by another process (ModemManager?): see docs/hardware.md" in message
        probe = await probe_port(handles[0].device)
        assert probe.held
        code, out, _ = await run_cli("modems", "--scan", "--glob", f"{folder}/modem*")
        assert code == 0
        assert f"# {handles[0].device} is held by another process" in out
        assert tomllib.loads(out)["modem"][0]["imei"] == handles[1].imei
    finally:
        holder.close()
    async with AtModem(handles[0].device) as modem:
        await modem.probe()


async def test_simulate_refuses_an_unknown_profile(tmp_path: Path) -> None:
    code, out, err = await run_cli(
        "simulate", "--modems", "1", "--dir", str(tmp_path / "d"), "--profile", "ec25,nokia3310"
    )
    assert code != 0 and out == ""
    assert "nokia3310" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
