"""``gatewayd modems --scan``: probe the serial ports for modems and print ``[[modem]]`` tables
ready to paste, bound to each modem's stable by-id path and IMEI.

Ports come from ``/dev/serial/by-id/*``, ``/dev/ttyUSB*`` and ``/dev/ttyACM*`` (or ``--glob``),
one per real device. A modem with several AT ports (most USB modems) is listed once, under the
first port that answered. Ports held by another program are named with the fix.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from gatewayd.modem.locate import DEFAULT_GLOBS, PortProbe, candidate_ports, probe_port

SCAN_TIMEOUT = 8.0


async def scan_ports(globs: Sequence[str], *, timeout: float = SCAN_TIMEOUT) -> list[PortProbe]:
    ports = candidate_ports(globs)
    return list(await asyncio.gather(*(probe_port(path, timeout=timeout) for path in ports)))


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def render_tables(probes: list[PortProbe]) -> str:
    """``[[modem]]`` tables for the modems found, comments for ports that could not answer."""
    lines: list[str] = []
    seen_imeis: set[str] = set()
    number = 0
    for probe in probes:
        identity = probe.identity
        if identity is None:
            if probe.held:
                lines.append(f"# {probe.error}")
            continue
        if identity.imei and identity.imei in seen_imeis:
            continue  # another AT port of a modem already listed
        if identity.imei:
            seen_imeis.add(identity.imei)
        number += 1
        about = " ".join(part for part in (identity.manufacturer, identity.model) if part)
        lines += ["", f"# {about or 'unknown modem'}, IMSI {identity.imsi or 'unknown'}"]
        lines += ["[[modem]]", f"name = {toml_string(f'modem{number}')}"]
        lines.append(f"device = {toml_string(probe.path)}")
        if identity.imei:
            lines.append(f"imei = {toml_string(identity.imei)}")
        if identity.iccid:
            lines.append(f"iccid = {toml_string(identity.iccid)}")
    if number == 0:
        lines.insert(
            0,
            "# no modem answered on " + ", ".join(p.path for p in probes)
            if probes
            else "# no serial port found",
        )
    return "\n".join(lines).strip() + "\n"


def scan(globs: Sequence[str] | None) -> tuple[str, int]:
    """The text to print and the exit code (0 when at least one modem answered)."""
    probes = asyncio.run(scan_ports(tuple(globs) if globs else DEFAULT_GLOBS))
    found = any(probe.identity is not None for probe in probes)
    return render_tables(probes), 0 if found else 1
