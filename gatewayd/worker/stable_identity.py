"""Binding a `[[modem]]` to the modem it names (IMEI) and the SIM in it (ICCID), not to the
port name the kernel happened to give it.

At every session start the worker compares the identity the modem reports with the configured
`imei` / `iccid` (`check_identity`). When the port answers as another modem, or has vanished
(USB re-enumeration: `/dev/ttyUSB2` came back as `/dev/ttyUSB5`), `relocate` probes the
candidate ports (`device_globs`, by default `/dev/serial/by-id/*`, `/dev/ttyUSB*`,
`/dev/ttyACM*`) for the right one.
"""

from __future__ import annotations

import os

import structlog

from gatewayd.config import ModemSettings
from gatewayd.modem.errors import ErrorAction, ModemError
from gatewayd.modem.identity import ModemIdentity
from gatewayd.modem.locate import DEFAULT_GLOBS, find_port

log = structlog.get_logger(__name__)


class WrongModem(ModemError):
    """The configured port answers with another IMEI or ICCID than the settings name."""

    action = ErrorAction.TRY_OTHER_MODEM


def identity_bound(config: ModemSettings) -> bool:
    return config.imei is not None or config.iccid is not None


def port_missing(device: str) -> bool:
    """True when a device path (not a socket URL) no longer exists (unplugged, renamed)."""
    return "://" not in device and not os.path.exists(device)


def check_identity(config: ModemSettings, identity: ModemIdentity, device: str) -> None:
    """Raise `WrongModem` when `identity` is not the modem / SIM the settings name."""
    if config.imei is not None and identity.imei != config.imei:
        raise WrongModem(
            f"{config.name}: {device} answers with IMEI {identity.imei}, not {config.imei}"
        )
    if config.iccid is not None and identity.iccid is not None and identity.iccid != config.iccid:
        raise WrongModem(f"{config.name}: {device} holds SIM {identity.iccid}, not {config.iccid}")


async def relocate(
    config: ModemSettings, current: str, *, in_use: tuple[str, ...] = ()
) -> str | None:
    """The port where the configured modem answers now, or None; `current` (wrong or gone)
    is not asked again."""
    if not identity_bound(config) or current.startswith("socket://"):
        return None
    globs = config.device_globs or DEFAULT_GLOBS
    found = await find_port(
        imei=config.imei,
        iccid=config.iccid,
        globs=globs,
        skip=(current, *in_use),
        baudrate=config.baudrate,
    )
    if found is not None:
        log.warning("Modem found under another name", modem=config.name, was=current, now=found)
    else:
        log.warning(
            "Modem not found on any port",
            modem=config.name,
            imei=config.imei,
            iccid=config.iccid,
            searched=list(globs),
        )
    return found
