"""Who the modem is and how it is doing: identity (CGMI, CGMM, CGMR, CGSN, CIMI, ICCID),
signal (`+CSQ` -> dBm), registration (`+CREG` / `+CGREG` / `+CEREG` -> state names) and operator.

Pure parsers plus small query functions that run over an `AtChannel`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gatewayd.modem.channel import AtChannel, Response
from gatewayd.modem.errors import AtCommandError

REGISTRATION_STATES: dict[int, str] = {
    0: "not_registered",
    1: "home",
    2: "searching",
    3: "denied",
    4: "unknown",
    5: "roaming",
    6: "home",  # SMS only
    7: "roaming",  # SMS only
    8: "not_registered",  # emergency services only
    9: "home",  # CSFB not preferred
    10: "roaming",
}
_STATE_RANK = ["home", "roaming", "searching", "denied", "not_registered", "unknown"]
_QUOTED_RE = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class ModemIdentity:
    manufacturer: str | None
    model: str | None
    revision: str | None
    imei: str | None
    imsi: str | None
    iccid: str | None


@dataclass(frozen=True)
class SignalQuality:
    """`rssi` 0..31 as the modem says it; `dbm` None when unknown (99)."""

    rssi: int | None
    dbm: int | None
    ber: int | None


@dataclass(frozen=True)
class Registration:
    """Registration per domain (None when the modem does not know the command) and the best."""

    state: str
    circuit: str | None = None
    packet: str | None = None
    eps: str | None = None


@dataclass(frozen=True)
class ModemHealth:
    signal: SignalQuality
    registration: Registration
    operator: str | None


def strip_prefix(line: str) -> str:
    """`+CGSN: "35..."` -> `35...`; bare text unchanged."""
    text = line
    if text[:1] in "+^" and ":" in text:
        text = text.split(":", 1)[1]
    return text.strip().strip('"').strip()


def parse_csq(value: str) -> SignalQuality:
    """`21,99` -> rssi 21, -71 dBm, BER unknown."""
    fields = [part.strip() for part in value.split(",")]
    rssi = int(fields[0]) if fields and fields[0].isascii() and fields[0].isdigit() else 99
    ber = int(fields[1]) if len(fields) > 1 and fields[1].isascii() and fields[1].isdigit() else 99
    if not 0 <= rssi <= 31:
        return SignalQuality(None, None, None if ber == 99 else ber)
    return SignalQuality(rssi, -113 + 2 * rssi, None if ber == 99 else ber)


def parse_registration(value: str, *, answer_to_query: bool = True) -> str:
    """`0,1` (answer to `AT+CREG?`) or `1` / `5,"00A1",...` (unsolicited) -> a state name."""
    fields = [part.strip() for part in value.split(",")]
    position = 1 if answer_to_query and len(fields) > 1 else 0
    stat = fields[position] if position < len(fields) else ""
    if not (stat.isascii() and stat.isdigit()):
        return "unknown"
    return REGISTRATION_STATES.get(int(stat), "unknown")


def best_state(*states: str | None) -> str:
    known = [state for state in states if state is not None]
    return min(known, key=_STATE_RANK.index) if known else "unknown"


def parse_cops(value: str) -> str | None:
    """`0,0,"Vivo",7` -> `Vivo`; `0` (no operator) -> None."""
    match = _QUOTED_RE.search(value)
    if match is None:
        return None
    return match.group(1).strip() or None


def first_line(response: Response) -> str | None:
    for line in response.lines:
        text = strip_prefix(line)
        if text:
            return text
    return None


async def _optional(channel: AtChannel, command: str) -> Response | None:
    try:
        return await channel.command(command)
    except AtCommandError:
        return None


async def read_identity(channel: AtChannel) -> ModemIdentity:
    answers: dict[str, str | None] = {}
    for command in ("AT+CGMI", "AT+CGMM", "AT+CGMR", "AT+CGSN", "AT+CIMI"):
        response = await _optional(channel, command)
        answers[command] = first_line(response) if response else None
    return ModemIdentity(
        manufacturer=answers["AT+CGMI"],
        model=answers["AT+CGMM"],
        revision=answers["AT+CGMR"],
        imei=answers["AT+CGSN"],
        imsi=answers["AT+CIMI"],
        iccid=await read_iccid(channel),
    )


ICCID_COMMANDS = ("AT+CCID", "AT+ICCID", "AT^ICCID?", "AT+QCCID", "AT+CICCID", "AT!ICCID?")
"""Generic / SIMCom 2G, some others, Huawei, Quectel, SIMCom LTE, Sierra Wireless."""
_ICCID_RE = re.compile(r"(?<![0-9A-Fa-f])(89[0-9]{16,20}[Ff]?)(?![0-9A-Fa-f])")


async def read_iccid(channel: AtChannel) -> str | None:
    """The SIM's ICCID, asked the way each vendor spells the command (`ICCID_COMMANDS`)."""
    for command in ICCID_COMMANDS:
        response = await _optional(channel, command)
        for line in response.lines if response else []:
            match = _ICCID_RE.search(line.replace('"', " "))
            if match:
                return match.group(1).upper()
    return None


async def read_signal(channel: AtChannel) -> SignalQuality:
    value = (await channel.command("AT+CSQ")).first_value("+CSQ")
    return parse_csq(value or "99,99")


async def read_registration(channel: AtChannel) -> Registration:
    states: list[str | None] = []
    for name in ("+CREG", "+CGREG", "+CEREG"):
        response = await _optional(channel, f"AT{name}?")
        value = response.first_value(name) if response else None
        states.append(parse_registration(value) if value is not None else None)
    circuit, packet, eps = states
    return Registration(best_state(*states), circuit, packet, eps)


async def read_operator(channel: AtChannel) -> str | None:
    response = await _optional(channel, "AT+COPS?")
    value = response.first_value("+COPS") if response else None
    return parse_cops(value) if value else None


async def read_health(channel: AtChannel) -> ModemHealth:
    return ModemHealth(
        signal=await read_signal(channel),
        registration=await read_registration(channel),
        operator=await read_operator(channel),
    )
