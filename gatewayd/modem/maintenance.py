"""Upkeep queries over an `AtChannel`: the liveness probe, the SIM's own number (`AT+CNUM`), the
full modem restart (`AT+CFUN=1,1`) and how full the message memories are (`AT+CPMS?`).

Used by `AtModem`; the gammu driver answers the same questions through Gammu's own calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gatewayd.modem.channel import AtChannel
from gatewayd.modem.errors import ModemError

PROBE_TIMEOUT = 3.0
RESTART_TIMEOUT = 15.0
_CPMS_USAGE_RE = re.compile(r'"([A-Za-z]{2})"\s*,\s*(\d+)\s*,\s*(\d+)')


@dataclass(frozen=True)
class StorageUsage:
    """How many messages a memory holds out of how many it can."""

    storage: str
    used: int
    total: int

    @property
    def fraction(self) -> float:
        return self.used / self.total if self.total > 0 else 0.0


def parse_cpms_usage(value: str) -> list[StorageUsage]:
    """`"SM",3,30,"SM",3,30,"ME",0,100` -> one entry per distinct memory, in order."""
    usages: list[StorageUsage] = []
    for name, used, total in _CPMS_USAGE_RE.findall(value):
        usage = StorageUsage(name.upper(), int(used), int(total))
        if all(existing.storage != usage.storage for existing in usages):
            usages.append(usage)
    return usages


def parse_cnum(values: list[str]) -> str | None:
    """`"","+5511990000001",145` -> `+5511990000001`; None when no entry carries a number."""
    for value in values:
        fields = [field.strip().strip('"') for field in value.split(",")]
        if len(fields) >= 2 and fields[1].lstrip("+").isdigit():
            number = fields[1]
            international = len(fields) >= 3 and fields[2] == "145"
            return f"+{number.lstrip('+')}" if international or number.startswith("+") else number
    return None


async def probe(channel: AtChannel, *, timeout: float = PROBE_TIMEOUT) -> None:
    """A bare `AT`: raises `ModemError` (usually `AtTimeout`) when the modem does not answer."""
    await channel.command("AT", timeout=timeout)


async def read_own_number(channel: AtChannel) -> str | None:
    try:
        response = await channel.command("AT+CNUM")
    except ModemError:
        return None
    return parse_cnum(response.values("+CNUM"))


async def restart(channel: AtChannel, *, timeout: float = RESTART_TIMEOUT) -> None:
    """`AT+CFUN=1,1`: the modem resets itself; the caller must re-open and initialise."""
    await channel.command("AT+CFUN=1,1", timeout=timeout)


async def read_storage_usage(channel: AtChannel) -> list[StorageUsage]:
    response = await channel.command("AT+CPMS?")
    value = response.first_value("+CPMS")
    return parse_cpms_usage(value) if value else []
