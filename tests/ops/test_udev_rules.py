"""udev/90-sms-gateway-modems.rules, evaluated by the real ``udevadm test``.

udevadm test changes the live system, so each run happens in a private mount namespace with
tmpfs over /run and /dev. The devices are fake: a small sysfs tree (a USB modem, one of its
interfaces and the tty of that interface) bind-mounted over /sys, which udev reads like the
real one when ``SYSTEMD_DEVICE_VERIFY_SYSFS=0``. The rules themselves are not changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ops.helpers import REPO, require

pytestmark = pytest.mark.ops

RULES = REPO / "udev" / "90-sms-gateway-modems.rules"
UDEVADM = require("udevadm")
UNSHARE = require("unshare")
TTY = "ttyUSB7"
USB_DEVICE = "devices/pci0000:00/0000:00:14.0/usb1/1-2"


@dataclass(frozen=True)
class FakeModem:
    vendor: str
    product: str
    interface: int
    serial: str | None = "a1b2c3d4"
    interface_class: str = "ff"
    interface_subclass: str = "ff"
    interface_protocol: str = "ff"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def link(path: Path, target: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)


def relative_to_sys(path: Path, sys_root: Path, target: str) -> str:
    return os.path.relpath(sys_root / target, path.parent)


def fake_sysfs(root: Path, modem: FakeModem) -> None:
    for folder in ("bus/usb/drivers/option", "bus/usb-serial", "class/tty"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    device = root / USB_DEVICE
    attributes = {
        "idVendor": modem.vendor,
        "idProduct": modem.product,
        "busnum": "1",
        "devpath": "2",
        "devnum": "3",
        "manufacturer": "Vendor",
        "product": "Modem",
        "bcdDevice": "0318",
        "bDeviceClass": "00",
    }
    if modem.serial:
        attributes["serial"] = modem.serial
    for name, value in attributes.items():
        write(device / name, value + "\n")
    write(device / "uevent", f"DEVTYPE=usb_device\nPRODUCT={modem.vendor}/{modem.product}/318\n")
    link(device / "subsystem", relative_to_sys(device / "subsystem", root, "bus/usb"))

    interface = device / f"1-2:1.{modem.interface}"
    write(interface / "bInterfaceNumber", f"{modem.interface:02d}\n")
    write(interface / "bInterfaceClass", modem.interface_class + "\n")
    write(interface / "bInterfaceSubClass", modem.interface_subclass + "\n")
    write(interface / "bInterfaceProtocol", modem.interface_protocol + "\n")
    write(interface / "uevent", "DEVTYPE=usb_interface\nDRIVER=option\n")
    link(interface / "subsystem", relative_to_sys(interface / "subsystem", root, "bus/usb"))
    driver = relative_to_sys(interface / "driver", root, "bus/usb/drivers/option")
    link(interface / "driver", driver)

    port = interface / TTY
    write(port / "uevent", "")
    link(port / "subsystem", relative_to_sys(port / "subsystem", root, "bus/usb-serial"))
    tty = port / "tty" / TTY
    write(tty / "uevent", f"MAJOR=188\nMINOR=7\nDEVNAME={TTY}\n")
    write(tty / "dev", "188:7\n")
    link(tty / "subsystem", relative_to_sys(tty / "subsystem", root, "class/tty"))
    class_link = root / "class/tty" / TTY
    link(class_link, relative_to_sys(class_link, root, str(tty.relative_to(root))))


def udevadm_test(tmp_path: Path, rules: Path, syspath: str, sys_root: Path | None) -> str:
    """Run ``udevadm test`` in a private mount namespace; return its whole output."""
    bind_sys = f"mount --bind {sys_root} /sys && " if sys_root else ""
    script = (
        "set -e; mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /dev && "
        f"{bind_sys}mkdir -p /run/udev/rules.d && cp {rules} /run/udev/rules.d/ && "
        f"{UDEVADM} test {syspath}"
    )
    env = {**os.environ, "SYSTEMD_DEVICE_VERIFY_SYSFS": "0", "SYSTEMD_LOG_LEVEL": "debug"}
    result = subprocess.run(
        [UNSHARE, "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def rule_errors(output: str, rules_name: str) -> list[str]:
    """udevadm reports a bad rule as '<file>:<line> <message>' and still exits 0."""
    pattern = re.compile(rf"{re.escape(rules_name)}:\d+ (?!(GROUP|MODE|LINK|Skipping|RUN|OWNER)\b)")
    return [line for line in output.splitlines() if pattern.search(line)]


def properties(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"\.?[A-Z0-9_]+", key):
            found[key] = value
    return found


def run_modem(tmp_path: Path, modem: FakeModem, syspath: str = f"/sys/class/tty/{TTY}") -> str:
    sys_root = tmp_path / "sys"
    fake_sysfs(sys_root, modem)
    output = udevadm_test(tmp_path, RULES, syspath, sys_root)
    assert "Reading rules file: /run/udev/rules.d/90-sms-gateway-modems.rules" in output
    assert rule_errors(output, RULES.name) == []
    return output


def real_tty() -> str:
    for name in ("ttyS0", "ptmx", "tty"):
        if Path(f"/sys/class/tty/{name}").exists():
            return f"/sys/class/tty/{name}"
    raise AssertionError("no tty in /sys/class/tty")


def test_rules_parse_without_errors(tmp_path: Path) -> None:
    output = udevadm_test(tmp_path, RULES, real_tty(), None)
    assert "Reading rules file: /run/udev/rules.d/90-sms-gateway-modems.rules" in output
    assert rule_errors(output, RULES.name) == []


def test_a_broken_rule_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / RULES.name
    shutil.copy(RULES, broken)
    broken.write_text(broken.read_text().replace('GROUP="dialout"', 'GROUPS="dialout"', 1))
    output = udevadm_test(tmp_path, broken, real_tty(), None)
    assert len(rule_errors(output, RULES.name)) == 1


AT_PORTS = [
    # (label, modem, at-port expected)
    ("quectel-ec25-at", FakeModem("2c7c", "0125", 2), True),
    ("quectel-ec25-diag", FakeModem("2c7c", "0125", 0), False),
    ("quectel-ec20-qualcomm-id", FakeModem("05c6", "9215", 2), True),
    ("simcom-sim7600-at", FakeModem("1e0e", "9001", 2), True),
    ("simcom-sim7600-ppp", FakeModem("1e0e", "9001", 3), False),
    ("sierra-mc7455-at", FakeModem("1199", "9071", 3), True),
    ("sierra-mc7455-nmea", FakeModem("1199", "9071", 2), False),
    ("huawei-pcui", FakeModem("12d1", "1506", 2, None, "ff", "02", "02"), True),
    ("huawei-modem-port", FakeModem("12d1", "1506", 0, None, "ff", "02", "01"), False),
    ("huawei-e1550", FakeModem("12d1", "1001", 2), True),
    ("zte-mf626", FakeModem("19d2", "0031", 3), True),
    ("zte-mf626-aux", FakeModem("19d2", "0031", 1), False),
]

VENDORS = {
    "2c7c": "quectel",
    "05c6": "quectel",
    "1e0e": "simcom",
    "1199": "sierra",
    "12d1": "huawei",
    "19d2": "zte",
}


@pytest.mark.parametrize(
    ("modem", "at_port"), [case[1:] for case in AT_PORTS], ids=[case[0] for case in AT_PORTS]
)
def test_known_modem_ports_get_stable_names(
    tmp_path: Path, modem: FakeModem, at_port: bool
) -> None:
    found = properties(run_modem(tmp_path, modem))
    vendor = VENDORS[modem.vendor]
    ident = modem.serial or "usb1-2"
    links = set(found["DEVLINKS"].split())
    expected = {
        f"/dev/smsgw/{vendor}-{ident}-if{modem.interface:02d}",
        f"/dev/smsgw/by-port/{vendor}-usb1-2-if{modem.interface:02d}",
    }
    if at_port:
        expected |= {f"/dev/smsgw/{vendor}-{ident}-at", f"/dev/smsgw/by-port/{vendor}-usb1-2-at"}
    assert {link for link in links if link.startswith("/dev/smsgw/")} == expected
    assert found["ID_MM_DEVICE_IGNORE"] == "1"
    assert ":systemd:" in found["TAGS"]


def test_port_permissions_are_dialout_0660(tmp_path: Path) -> None:
    output = run_modem(tmp_path, FakeModem("2c7c", "0125", 2))
    ours = [line for line in output.splitlines() if RULES.name in line]
    assert any(re.search(r"GROUP 20\b", line) for line in ours)  # dialout on Debian
    assert any("MODE 0660" in line for line in ours)


def test_modem_without_serial_is_named_by_usb_port(tmp_path: Path) -> None:
    found = properties(run_modem(tmp_path, FakeModem("2c7c", "0125", 2, serial=None)))
    assert "/dev/smsgw/quectel-usb1-2-at" in found["DEVLINKS"].split()


def test_whole_usb_device_is_hidden_from_modemmanager(tmp_path: Path) -> None:
    found = properties(run_modem(tmp_path, FakeModem("1e0e", "9001", 2), f"/sys/{USB_DEVICE}"))
    assert found["ID_MM_DEVICE_IGNORE"] == "1"
    assert "smsgw" not in found.get("DEVLINKS", "")


def test_other_usb_serial_devices_are_left_alone(tmp_path: Path) -> None:
    found = properties(run_modem(tmp_path, FakeModem("0403", "6001", 0)))  # an FTDI adapter
    assert "ID_MM_DEVICE_IGNORE" not in found
    assert "smsgw" not in found.get("DEVLINKS", "")
    assert "SMSGW_VENDOR" not in found
