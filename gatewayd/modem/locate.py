"""Finding modems by who they are rather than by the name the kernel gave their port.

`/dev/ttyUSB2` today may be `/dev/ttyUSB5` after a USB re-enumeration; the IMEI (the modem) and
the ICCID (the SIM) stay. `candidate_ports` lists the serial ports worth asking (the udev
`/dev/serial/by-id` links first, then `ttyUSB*` / `ttyACM*`, or any globs given), one path per
real device; `probe_port` asks one port who it is; `find_port` returns the first whose answer
matches. Ports are opened exclusively, so a port another program holds is reported as such.
"""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gatewayd.modem.at_driver import AtModem
from gatewayd.modem.errors import ModemError
from gatewayd.modem.identity import ModemIdentity
from gatewayd.modem.transport import HELD_BY_OTHER

DEFAULT_GLOBS = ("/dev/serial/by-id/*", "/dev/ttyUSB*", "/dev/ttyACM*")
PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class PortProbe:
    """What one port said: its identity, or why it said nothing."""

    path: str
    identity: ModemIdentity | None = None
    error: str | None = None

    @property
    def held(self) -> bool:
        return self.error is not None and HELD_BY_OTHER in self.error


def candidate_ports(globs: Sequence[str] = DEFAULT_GLOBS) -> list[str]:
    """Paths matching `globs`, in glob order, keeping the first name of each real device."""
    seen: set[str] = set()
    ports: list[str] = []
    for pattern in globs:
        for path in sorted(glob.glob(pattern)):
            real = os.path.realpath(path)
            if real in seen or not os.path.exists(real):
                continue
            seen.add(real)
            ports.append(path)
    return ports


def ports_to_ask(globs: Sequence[str], skip: Iterable[str]) -> list[str]:
    """`candidate_ports(globs)` without the devices behind `skip`."""
    skipped = {os.path.realpath(path) for path in skip}
    return [path for path in candidate_ports(globs) if os.path.realpath(path) not in skipped]


async def probe_port(
    path: str, *, baudrate: int = 115200, pin: str | None = None, timeout: float = PROBE_TIMEOUT
) -> PortProbe:
    """Open `path`, unlock the SIM when a PIN is given, read the identity, close."""
    modem = AtModem(path, name=path, baudrate=baudrate, pin=pin)
    try:
        async with asyncio.timeout(timeout):
            await modem.open()
            try:
                await modem.channel.synchronise()
                await modem.channel.command("ATE0")
                return PortProbe(path, identity=await modem.identity())
            finally:
                await modem.close()
    except TimeoutError:
        return PortProbe(path, error=f"no answer within {timeout:g}s")
    except ModemError as error:
        return PortProbe(path, error=str(error))


def matches(identity: ModemIdentity, *, imei: str | None, iccid: str | None) -> bool:
    """True when every identifier that is asked for is the one the modem gave."""
    if imei is None and iccid is None:
        return False
    if imei is not None and identity.imei != imei:
        return False
    return iccid is None or identity.iccid == iccid


async def find_port(
    *,
    imei: str | None,
    iccid: str | None,
    globs: Sequence[str] = DEFAULT_GLOBS,
    skip: Iterable[str] = (),
    baudrate: int = 115200,
    timeout: float = PROBE_TIMEOUT,
) -> str | None:
    """The first port whose modem has this IMEI / SIM this ICCID; None when none does."""
    for path in ports_to_ask(globs, skip):
        probe = await probe_port(path, baudrate=baudrate, timeout=timeout)
        if probe.identity is not None and matches(probe.identity, imei=imei, iccid=iccid):
            return path
    return None
