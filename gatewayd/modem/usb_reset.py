"""Resetting the USB device behind a modem's serial port, for the recovery ladder.

A serial device (`/dev/ttyUSB2`, or a udev / by-id symlink to it) is found in sysfs
(`/sys/class/tty/ttyUSB2`) and followed up to the USB device that owns it (`…/usb1/1-2`, the
directory with `idVendor`). Two ways to reset it: unbind and bind it again on the `usb` driver
(`/sys/bus/usb/drivers/usb/unbind`, then `bind`), or the `USBDEVFS_RESET` ioctl on
`/dev/bus/usb/BBB/DDD`. Both need root. The sysfs and /dev roots are parameters so tests point
them at a fake tree; nothing here is run against the real system by the tests.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

USBDEVFS_RESET = ord("U") << 8 | 20  # _IO('U', 20)
_USB_DEVICE_NAME = re.compile(r"^\d+-\d+(\.\d+)*$")
ResetMethod = Literal["unbind", "ioctl"]


class UsbResetError(OSError):
    """The device is not on USB, or sysfs / usbfs refused the reset."""


@dataclass(frozen=True)
class UsbDevice:
    """The USB device a tty belongs to."""

    tty: str
    """Kernel name of the serial port, e.g. ``ttyUSB2``."""
    sys_path: Path
    """The USB device directory in sysfs (…/usb1/1-2)."""
    busnum: int
    devnum: int

    @property
    def name(self) -> str:
        """The name the usb driver binds by, e.g. ``1-2`` or ``1-1.4``."""
        return self.sys_path.name

    def usbfs_path(self, dev_root: Path = Path("/dev")) -> Path:
        return dev_root / "bus" / "usb" / f"{self.busnum:03d}" / f"{self.devnum:03d}"


class UsbResetter:
    """Finds and resets the USB device behind a serial port path."""

    def __init__(
        self,
        *,
        sysfs_root: Path = Path("/sys"),
        dev_root: Path = Path("/dev"),
        method: ResetMethod = "unbind",
    ) -> None:
        self.sysfs_root = sysfs_root
        self.dev_root = dev_root
        self.method = method

    def locate(self, device: str) -> UsbDevice:
        """The USB device behind `device` (a path, a symlink to one, or a bare tty name)."""
        if device.startswith("socket://"):
            raise UsbResetError(f"{device} is a network socket, not a USB device")
        tty = Path(os.path.realpath(device)).name if "/" in device else device
        class_entry = self.sysfs_root / "class" / "tty" / tty
        if not class_entry.exists():
            raise UsbResetError(f"{device}: no {class_entry} (not a kernel serial port)")
        current = Path(os.path.realpath(class_entry))
        sys_root = Path(os.path.realpath(self.sysfs_root))
        while current != sys_root and current != current.parent:
            if _USB_DEVICE_NAME.match(current.name) and (current / "idVendor").exists():
                return UsbDevice(
                    tty,
                    current,
                    _read_int(current / "busnum"),
                    _read_int(current / "devnum"),
                )
            current = current.parent
        raise UsbResetError(f"{device}: {tty} is not on a USB device")

    def reset(self, device: str) -> UsbDevice:
        """Reset the USB device behind `device`; returns what was reset."""
        usb = self.locate(device)
        log.warning("resetting USB device %s (%s) behind %s", usb.name, self.method, device)
        if self.method == "ioctl":
            self._ioctl_reset(usb)
        else:
            self._rebind(usb)
        return usb

    def _rebind(self, usb: UsbDevice) -> None:
        driver = self.sysfs_root / "bus" / "usb" / "drivers" / "usb"
        try:
            (driver / "unbind").write_text(usb.name)
            (driver / "bind").write_text(usb.name)
        except OSError as error:
            raise UsbResetError(f"unbind/bind of USB device {usb.name} failed: {error}") from error

    def _ioctl_reset(self, usb: UsbDevice) -> None:
        path = usb.usbfs_path(self.dev_root)
        try:
            descriptor = os.open(path, os.O_WRONLY)
        except OSError as error:
            raise UsbResetError(f"cannot open {path}: {error}") from error
        try:
            fcntl.ioctl(descriptor, USBDEVFS_RESET, 0)
        except OSError as error:
            raise UsbResetError(f"USBDEVFS_RESET on {path} failed: {error}") from error
        finally:
            os.close(descriptor)


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0
