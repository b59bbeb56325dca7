"""Functions that run on a modem's gammu thread, each taking the `gammu.StateMachine`: reading
every stored message, pumping the device until an event arrives, identity, own number, and the
conversion of one stored part to a `StoredMessage`. Never called on the event loop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gatewayd.modem.gammu_convert import STATE_STATUS, GammuDict, error_name, gammu_to_pdu
from gatewayd.modem.gammu_thread import Machine
from gatewayd.modem.identity import ModemIdentity
from gatewayd.modem.storage import StoredMessage

log = logging.getLogger(__name__)

READ_PAUSE = 0.05


def new_state_machine() -> Machine:
    import gammu

    return gammu.StateMachine()


def terminate(machine: Machine) -> None:
    machine.Terminate()


def quietly(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception as error:
        log.debug("gammu query failed: %s", error_name(error))
        return None


def read_all(machine: Machine) -> list[GammuDict]:
    parts: list[GammuDict] = []
    try:
        message = machine.GetNextSMS(0, True)
        while True:
            parts.extend(message)
            message = machine.GetNextSMS(0, False, message[0]["Location"])
    except Exception as error:
        if error_name(error) != "ERR_EMPTY":
            raise
    return parts


def read_until(machine: Machine, arrived: threading.Event, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not arrived.is_set() and time.monotonic() < deadline:
        machine.ReadDevice(False)
        arrived.wait(READ_PAUSE)


def stored_message(part: GammuDict) -> StoredMessage:
    return StoredMessage(
        storage=str(part.get("Memory") or "SM"),
        index=int(part["Location"]),
        status=STATE_STATUS.get(str(part.get("State")), 1),
        pdu=gammu_to_pdu(part),
    )


def is_report(pdu: str) -> bool:
    smsc_octets = int(pdu[:2], 16)
    first = pdu[2 + 2 * smsc_octets : 4 + 2 * smsc_octets]
    return len(first) == 2 and int(first, 16) & 0x03 == 0x02


def read_identity(machine: Machine) -> ModemIdentity:
    model = quietly(lambda: machine.GetModel())
    firmware = quietly(lambda: machine.GetFirmware())
    return ModemIdentity(
        manufacturer=quietly(lambda: machine.GetManufacturer()),
        model=(model[1] or model[0]) if model else None,
        revision=firmware[0] if firmware else None,
        imei=quietly(lambda: machine.GetIMEI()),
        imsi=quietly(lambda: machine.GetSIMIMSI()),
        iccid=None,  # Gammu has no call for the SIM's ICCID
    )


def read_own_number(machine: Machine) -> str | None:
    """The first number of the SIM's own-number book (`ON`, AT+CNUM on AT phones)."""
    entry = quietly(lambda: machine.GetMemory(Type="ON", Location=1))
    for field in (entry or {}).get("Entries", []):
        if str(field.get("Type", "")).startswith("Number") and field.get("Value"):
            return str(field["Value"])
    return None
