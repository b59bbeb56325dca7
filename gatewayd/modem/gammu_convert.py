"""Between Gammu's message dictionaries and the hex PDUs the gateway core works with, and from
Gammu's errors and states to ours.

Sending: our SMS-SUBMIT PDU is parsed by Gammu's own `DecodePDU` (number, text, UDH, coding,
class) into the dictionary `SendSMS` wants; the report request, which that dictionary has no
field for, is Gammu's `Type = "Status_Report"` on a submit. Receiving: an SMS-DELIVER goes back
to a PDU through `EncodePDU(..., "Deliver")`; Gammu cannot encode status reports, so those are
built with our codec from the fields Gammu parsed (recipient, reference, times, status).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gatewayd.modem.errors import ErrorAction, ModemDisconnected, ModemError, SimError
from gatewayd.modem.identity import ModemHealth, Registration, SignalQuality, best_state
from gatewayd.sms import Submit, decode_pdu, encode_status_report

GammuDict = dict[str, Any]

STATE_STATUS = {"UnRead": 0, "Read": 1, "UnSent": 2, "Sent": 3}
USSD_STATUS = {
    "NoActionNeeded": 0,
    "ActionNeeded": 1,
    "Terminated": 2,
    "AnotherClient": 3,
    "NotSupported": 4,
    "Timeout": 5,
}
NETWORK_STATE = {
    "HomeNetwork": "home",
    "RoamingNetwork": "roaming",
    "RequestingNetwork": "searching",
    "RegistrationDenied": "denied",
    "NoNetwork": "not_registered",
    "Unknown": "unknown",
}
DISCONNECT_ERRORS = frozenset(
    {
        "ERR_DEVICEOPENERROR",
        "ERR_DEVICENOTEXIST",
        "ERR_DEVICEREADERROR",
        "ERR_DEVICEWRITEERROR",
        "ERR_DEVICENOPERMISSION",
        "ERR_DEVICEBUSY",
        "ERR_DEVICELOCKED",
        "ERR_NOTCONNECTED",
        "ERR_DEVICECHANGESPEEDERROR",
    }
)
HELD_ERRORS = frozenset({"ERR_DEVICEBUSY", "ERR_DEVICELOCKED"})
SIM_ERRORS = frozenset({"ERR_SECURITYERROR", "ERR_NOSIM", "ERR_SIMFAILURE"})
PERMANENT_SEND_ERRORS = frozenset({"ERR_INVALIDDATA", "ERR_MOREMEMORY", "ERR_INVALIDLOCATION"})


def submit_to_gammu(pdu_hex: str) -> GammuDict:
    """The `SendSMS` dictionary for one of our SMS-SUBMIT PDUs (with its SMSC field)."""
    import gammu

    decoded = decode_pdu(pdu_hex)
    if not isinstance(decoded, Submit):
        raise ModemError("only SMS-SUBMIT PDUs can be sent", action=ErrorAction.FAIL_MESSAGE)
    message: GammuDict = dict(gammu.DecodePDU(bytes.fromhex(pdu_hex), SMSC=True))
    message["SMSC"] = {"Number": decoded.smsc} if decoded.smsc else {"Location": 1}
    if decoded.status_report_requested:
        message["Type"] = "Status_Report"  # Gammu's way of setting TP-SRR on a submit
    return message


def gammu_to_pdu(message: GammuDict) -> str:
    """An SMS-DELIVER or SMS-STATUS-REPORT dictionary from `GetSMS` as uppercase hex PDU."""
    import gammu

    kind = message.get("Type")
    if kind == "Status_Report":
        smsc = (message.get("SMSC") or {}).get("Number") or None
        return encode_status_report(
            str(message.get("Number") or ""),
            int(message.get("MessageReference") or 0),
            scts=_aware(message.get("DateTime")),
            discharge_time=_aware(message.get("SMSCDateTime") or message.get("DateTime")),
            status=int(message.get("DeliveryStatus") or 0),
            smsc=smsc,
        ).pdu
    layout = "Submit" if kind == "Submit" else "Deliver"
    raw = gammu.EncodePDU(message, layout)
    data = raw if isinstance(raw, bytes) else str(raw).encode("latin-1")
    return data.hex().upper()


def _aware(value: object) -> datetime:
    if not isinstance(value, datetime):
        return datetime.now(UTC).replace(microsecond=0)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def signal_from_gammu(answer: GammuDict) -> SignalQuality:
    """`{'SignalStrength': -73, 'BitErrorRate': -1}` -> rssi 20, -73 dBm."""
    dbm = answer.get("SignalStrength")
    ber = answer.get("BitErrorRate")
    ber_value = ber if isinstance(ber, int) and 0 <= ber <= 7 else None
    if not isinstance(dbm, int) or dbm >= 0 or dbm < -113:
        return SignalQuality(None, None, ber_value)
    rssi = min(31, (dbm + 113) // 2)
    return SignalQuality(rssi, dbm, ber_value)


def health_from_gammu(signal: GammuDict, network: GammuDict) -> ModemHealth:
    """`GetSignalQuality` and `GetNetworkInfo` answers as our `ModemHealth`."""
    circuit = NETWORK_STATE.get(str(network.get("State")), "unknown")
    packet_raw = network.get("PacketState")
    packet = NETWORK_STATE.get(str(packet_raw)) if packet_raw else None
    operator = network.get("NetworkName") or network_name(network.get("NetworkCode"))
    return ModemHealth(
        signal=signal_from_gammu(signal),
        registration=Registration(best_state(circuit, packet), circuit, packet),
        operator=operator or None,
    )


def network_name(code: object) -> str | None:
    """The operator's name for a `"724 05"` network code, from Gammu's own table."""
    if not isinstance(code, str) or not code:
        return None
    import gammu

    name = gammu.GSMNetworks.get(code)
    return str(name) if name else None


def error_name(error: BaseException) -> str:
    """`ERR_TIMEOUT` for a `gammu.ERR_TIMEOUT`, else the class name."""
    return type(error).__name__


def error_text(error: BaseException) -> str:
    details = error.args[0] if error.args else None
    if isinstance(details, dict):
        return f"{details.get('Where', 'gammu')}: {details.get('Text', error_name(error))}"
    return f"{error_name(error)}: {error}"


def convert_error(name: str, error: BaseException, *, sending: bool = False) -> ModemError:
    """The `ModemError` for a Gammu exception raised while talking to modem `name`."""
    kind = error_name(error)
    text = f"{name}: {error_text(error)}"
    if kind in HELD_ERRORS:
        return ModemDisconnected(
            f"{text}: the port is held by another process (ModemManager?): see docs/hardware.md"
        )
    if kind in DISCONNECT_ERRORS:
        return ModemDisconnected(text)
    if kind in SIM_ERRORS:
        return SimError(text)
    if kind == "ERR_TIMEOUT":
        return ModemError(text, action=ErrorAction.REINITIALISE)
    if sending and kind in PERMANENT_SEND_ERRORS:
        return ModemError(text, action=ErrorAction.FAIL_MESSAGE)
    return ModemError(text, action=ErrorAction.RETRY_LATER)
