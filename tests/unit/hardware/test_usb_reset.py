"""Finding and resetting the USB device behind a serial port, in a fake sysfs tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatewayd.modem.usb_reset import UsbResetError, UsbResetter


def fake_tree(root: Path) -> tuple[Path, Path, Path]:
    """A usb-serial port (ttyUSB2 on USB device 1-1.4) and a CDC-ACM one (ttyACM0 on 2-3),
    laid out as the kernel does, plus /dev with a by-id link."""
    sys, dev = root / "sys", root / "dev"
    hub = sys / "devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.4"
    serial_tty = hub / "1-1.4:1.2/ttyUSB2/tty/ttyUSB2"
    acm_device = sys / "devices/pci0000:00/0000:00:14.0/usb2/2-3"
    acm_tty = acm_device / "2-3:1.0/tty/ttyACM0"
    for directory in (serial_tty, acm_tty, sys / "class/tty", sys / "bus/usb/drivers/usb"):
        directory.mkdir(parents=True)
    for device, bus, number in ((hub, 1, 7), (acm_device, 2, 3)):
        (device / "idVendor").write_text("2c7c\n")
        (device / "busnum").write_text(f"{bus}\n")
        (device / "devnum").write_text(f"{number}\n")
    for parent in (sys / "devices/pci0000:00/0000:00:14.0/usb1/1-1",):
        (parent / "idVendor").write_text("1d6b\n")  # a hub above: must not be chosen
    os.symlink(serial_tty, sys / "class/tty/ttyUSB2")
    os.symlink(acm_tty, sys / "class/tty/ttyACM0")
    (sys / "bus/usb/drivers/usb/unbind").write_text("")
    (sys / "bus/usb/drivers/usb/bind").write_text("")
    (dev / "serial/by-id").mkdir(parents=True)
    (dev / "ttyUSB2").write_text("")
    link = dev / "serial/by-id/usb-Quectel_EC25-if02-port0"
    os.symlink(dev / "ttyUSB2", link)
    return sys, dev, link


def test_by_id_link_resolves_to_the_usb_device(tmp_path: Path) -> None:
    sys, dev, link = fake_tree(tmp_path)
    usb = UsbResetter(sysfs_root=sys, dev_root=dev).locate(str(link))
    assert usb.tty == "ttyUSB2"
    assert usb.name == "1-1.4"
    assert (usb.busnum, usb.devnum) == (1, 7)
    assert usb.usbfs_path(dev) == dev / "bus/usb/001/007"


def test_acm_port_resolves_to_its_device(tmp_path: Path) -> None:
    sys, dev, _ = fake_tree(tmp_path)
    assert UsbResetter(sysfs_root=sys, dev_root=dev).locate("ttyACM0").name == "2-3"


def test_rebind_writes_the_device_name_to_unbind_and_bind(tmp_path: Path) -> None:
    sys, dev, link = fake_tree(tmp_path)
    UsbResetter(sysfs_root=sys, dev_root=dev).reset(str(link))
    assert (sys / "bus/usb/drivers/usb/unbind").read_text() == "1-1.4"
    assert (sys / "bus/usb/drivers/usb/bind").read_text() == "1-1.4"


def test_ioctl_reset_needs_the_usbfs_node(tmp_path: Path) -> None:
    sys, dev, link = fake_tree(tmp_path)
    with pytest.raises(UsbResetError, match="bus/usb/001/007"):
        UsbResetter(sysfs_root=sys, dev_root=dev, method="ioctl").reset(str(link))


def test_non_usb_ports_are_refused(tmp_path: Path) -> None:
    sys, dev, _ = fake_tree(tmp_path)
    resetter = UsbResetter(sysfs_root=sys, dev_root=dev)
    with pytest.raises(UsbResetError, match="network socket"):
        resetter.locate("socket://127.0.0.1:7000")
    with pytest.raises(UsbResetError, match="not a kernel serial port"):
        resetter.locate("/dev/pts/7")
    platform_tty = sys / "devices/platform/serial8250/tty/ttyS0"
    platform_tty.mkdir(parents=True)
    os.symlink(platform_tty, sys / "class/tty/ttyS0")
    with pytest.raises(UsbResetError, match="not on a USB device"):
        resetter.locate("ttyS0")
