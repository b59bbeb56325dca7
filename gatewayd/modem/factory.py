"""`open_driver`: the factory that picks the driver a `[[modem]]` table names (`driver = "at"` or
`driver = "gammu"`)."""

from __future__ import annotations

from gatewayd.config import ModemSettings
from gatewayd.modem.at_driver import AtModem
from gatewayd.modem.interface import ModemDriver


def open_driver(
    settings: ModemSettings, *, device: str | None = None, prefer_direct: bool = True
) -> ModemDriver:
    """The driver for one `[[modem]]` table, not yet opened: call `open()` then `initialise()`.

    `device` overrides the configured path (a modem found again under another name).
    """
    path = device or settings.device
    if settings.driver == "gammu":
        from gatewayd.modem.gammu_driver import (
            GammuModem,  # loads libGammu only when a modem asks for it
        )

        return GammuModem(path, name=settings.name, baudrate=settings.baudrate, pin=settings.pin)
    return AtModem(
        path,
        name=settings.name,
        baudrate=settings.baudrate,
        pin=settings.pin,
        prefer_direct=prefer_direct,
    )
