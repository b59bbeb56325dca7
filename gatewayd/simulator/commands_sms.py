"""SMS commands of 3GPP TS 27.005: mode, service centre, storages, indications, send, list,
read and delete.

SMS commands report failures as ``+CMS ERROR: <code>`` whatever AT+CMEE says. Storage indices
run from 1; reading (AT+CMGR, AT+CMGL) marks received messages read.
"""

from __future__ import annotations

from gatewayd.simulator.atparse import AtRequest, AtSyntaxError
from gatewayd.simulator.device import Handler, SimulatedModem
from gatewayd.simulator.state import AtError, PromptRequest
from gatewayd.simulator.storage import (
    ALL_MESSAGES,
    DELETE_FLAG_STATUSES,
    REC_UNREAD,
    STATUS_BY_TEXT,
    STO_UNSENT,
    MessageStore,
)
from gatewayd.simulator.textmode import text_mode_entry

OPERATION_NOT_ALLOWED = 302
OPERATION_NOT_SUPPORTED = 303
SIM_PIN_REQUIRED = 311
INVALID_INDEX = 321
MAX_PDU_OCTETS = 176


def cms(code: int) -> AtError:
    return AtError(f"+CMS ERROR: {code}")


def require_sim(modem: SimulatedModem) -> None:
    if modem.sim_locked:
        raise cms(SIM_PIN_REQUIRED)


def cmgf(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        return [f"+CMGF: {modem.settings.cmgf}"]
    if request.form == "test":
        return ["+CMGF: (0,1)"]
    value = request.int_params()[0] if request.argument else 0
    if value not in (0, 1):
        raise cms(OPERATION_NOT_SUPPORTED)
    modem.settings.cmgf = value
    return []


def csca(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        require_sim(modem)
        return [f'+CSCA: "{modem.encode_string(modem.smsc)}",{modem.smsc_type}']
    if request.form == "test":
        return []
    if request.form != "set":
        raise AtError("ERROR")
    params = request.params()
    number = modem.decode_string(params[0]) if params else ""
    if not number or not number.lstrip("+").isdigit():
        raise cms(OPERATION_NOT_ALLOWED)
    modem.smsc = number
    modem.smsc_type = (
        int(params[1])
        if len(params) > 1 and params[1].isdigit()
        else (145 if number.startswith("+") else 129)
    )
    return []


def _usage(store: MessageStore) -> str:
    return f"{store.used},{store.capacity}"


def cpms(modem: SimulatedModem, request: AtRequest) -> list[str]:
    settings = modem.settings
    profile = modem.profile
    if request.form == "test":
        return [profile.cpms_test]
    require_sim(modem)
    storages = modem.storages
    if request.form == "read":
        return [
            "+CPMS: "
            + ",".join(
                f'"{name}",{_usage(storages[name])}'
                for name in (settings.mem1, settings.mem2, settings.mem3)
            )
        ]
    if request.form != "set":
        raise AtError("ERROR")
    names = [name.upper() for name in request.params()]
    if not names or len(names) > 3 or any(name not in storages for name in names):
        raise cms(OPERATION_NOT_SUPPORTED)
    writable = (*profile.write_storages, *profile.hidden_storages)
    if any(name not in writable for name in names[1:]):
        raise cms(OPERATION_NOT_SUPPORTED)
    settings.mem1 = names[0]
    if len(names) >= 2:
        settings.mem2 = names[1]
    if len(names) == 3:
        settings.mem3 = names[2]
    return [
        "+CPMS: "
        + ",".join(_usage(storages[name]) for name in (settings.mem1, settings.mem2, settings.mem3))
    ]


def cnmi(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        return ["+CNMI: " + ",".join(str(value) for value in modem.settings.cnmi)]
    if request.form == "test":
        return [modem.profile.cnmi_test]
    if request.form != "set":
        raise AtError("ERROR")
    values = request.int_params()
    if len(values) > 5:
        raise cms(OPERATION_NOT_SUPPORTED)
    current = list(modem.settings.cnmi)
    for position, value in enumerate(values):
        if value is None:
            continue
        # ds=2 (+CDSI) is accepted although not advertised, for clients that insist on it
        allowed = (0, 1, 2) if position == 3 else modem.profile.cnmi_ranges[position]
        if value not in allowed:
            raise cms(OPERATION_NOT_SUPPORTED)
        current[position] = value
    modem.settings.cnmi = (current[0], current[1], current[2], current[3], current[4])
    return []


def csms(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        return [f"+CSMS: {modem.settings.csms},1,1,1"]
    if request.form == "test":
        return ["+CSMS: (0,1)"]
    if request.form != "set":
        raise AtError("ERROR")
    value = request.int_params()[0] if request.argument else 0
    if value not in (0, 1):
        raise cms(OPERATION_NOT_SUPPORTED)
    modem.settings.csms = value
    return ["+CSMS: 1,1,1"]


def _prompt_length(request: AtRequest) -> int:
    values = request.int_params()
    if not values or values[0] is None or not 7 <= values[0] <= MAX_PDU_OCTETS:
        raise cms(304)
    return values[0]


def cmgs(modem: SimulatedModem, request: AtRequest) -> list[str] | PromptRequest:
    if request.form == "test":
        return []
    if request.form != "set":
        raise AtError("ERROR")
    require_sim(modem)
    if modem.settings.cmgf == 1:
        params = request.params()
        if not params or not modem.decode_string(params[0]):
            raise cms(OPERATION_NOT_ALLOWED)
        return PromptRequest("+CMGS", recipient=modem.decode_string(params[0]))
    return PromptRequest("+CMGS", length=_prompt_length(request))


def cmgw(modem: SimulatedModem, request: AtRequest) -> list[str] | PromptRequest:
    if request.form == "test":
        return []
    if request.form != "set" or modem.settings.cmgf == 1:
        raise cms(OPERATION_NOT_SUPPORTED)
    require_sim(modem)
    values = [*request.int_params(), None]
    status = values[1] if values[1] is not None else STO_UNSENT
    if status not in (0, 1, 2, 3):
        raise cms(OPERATION_NOT_SUPPORTED)
    return PromptRequest("+CMGW", length=_prompt_length(request), store_status=status)


def _listing_status(modem: SimulatedModem, request: AtRequest) -> int:
    params = request.params() if request.form == "set" else []
    if not params:
        return REC_UNREAD
    raw = params[0].upper()
    if modem.settings.cmgf == 1:
        if raw not in STATUS_BY_TEXT:
            raise cms(OPERATION_NOT_SUPPORTED)
        return STATUS_BY_TEXT[raw]
    if not raw.isdigit() or int(raw) > ALL_MESSAGES:
        raise cms(OPERATION_NOT_SUPPORTED)
    return int(raw)


def cmgl(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "test":
        if modem.settings.cmgf == 1:
            return ['+CMGL: ("REC UNREAD","REC READ","STO UNSENT","STO SENT","ALL")']
        return ["+CMGL: (0-4)"]
    require_sim(modem)
    status = _listing_status(modem, request)
    lines: list[str] = []
    for message in modem.storages[modem.settings.mem1].listing(status):
        if modem.settings.cmgf == 1:
            lines.extend(text_mode_entry(message, listing=True))
        else:
            lines.append(f"+CMGL: {message.index},{message.status},,{message.tpdu_length}")
            lines.append(message.pdu)
    return lines


def _index(request: AtRequest, store: MessageStore) -> int:
    try:
        values = request.int_params()
    except AtSyntaxError:
        raise cms(INVALID_INDEX) from None
    if not values or values[0] is None or not store.valid_index(values[0]):
        raise cms(INVALID_INDEX)
    return values[0]


def cmgr(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "test":
        return []
    if request.form != "set":
        raise AtError("ERROR")
    require_sim(modem)
    store = modem.storages[modem.settings.mem1]
    message = store.read(_index(request, store))
    if message is None:
        raise cms(INVALID_INDEX)
    if modem.settings.cmgf == 1:
        return text_mode_entry(message, listing=False)
    return [f"+CMGR: {message.status},,{message.tpdu_length}", message.pdu]


def cmgd(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "test":
        return [f"+CMGD: (1-{modem.storages[modem.settings.mem1].capacity}),(0-4)"]
    if request.form != "set":
        raise AtError("ERROR")
    require_sim(modem)
    store = modem.storages[modem.settings.mem1]
    values = [*request.int_params(), None]
    flag = values[1] or 0
    if flag not in (0, 1, 2, 3, 4):
        raise cms(OPERATION_NOT_SUPPORTED)
    if flag == 0:
        store.delete(_index(request, store))
    else:
        store.delete_by_statuses(DELETE_FLAG_STATUSES[flag])
    modem.uplink.storage_freed(modem)
    return []


def csmp(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        return ["+CSMP: " + ",".join(str(value) for value in modem.settings.csmp)]
    if request.form == "test":
        return []
    values = request.int_params()
    current = list(modem.settings.csmp)
    for position, value in enumerate(values[:4]):
        if value is not None:
            current[position] = value
    modem.settings.csmp = (current[0], current[1], current[2], current[3])
    return []


def _small_setting(name: str, field: str, allowed: tuple[int, ...]) -> Handler:
    def handler(modem: SimulatedModem, request: AtRequest) -> list[str]:
        if request.form == "read":
            return [f"{name}: {getattr(modem.settings, field)}"]
        if request.form == "test":
            return [f"{name}: ({','.join(str(value) for value in allowed)})"]
        values = request.int_params() if request.form == "set" else []
        value = values[0] if values and values[0] is not None else 0
        if value not in allowed:
            raise cms(OPERATION_NOT_SUPPORTED)
        setattr(modem.settings, field, value)
        return []

    return handler


def cnma(modem: SimulatedModem, request: AtRequest) -> list[str]:
    return []


SMS_COMMANDS: dict[str, Handler] = {
    "+CMGF": cmgf,
    "+CSCA": csca,
    "+CPMS": cpms,
    "+CNMI": cnmi,
    "+CSMS": csms,
    "+CMGS": cmgs,
    "+CMGW": cmgw,
    "+CMGL": cmgl,
    "+CMGR": cmgr,
    "+CMGD": cmgd,
    "+CSMP": csmp,
    "+CSDH": _small_setting("+CSDH", "csdh", (0, 1)),
    "+CMMS": _small_setting("+CMMS", "cmms", (0, 1, 2)),
    "+CNMA": cnma,
}
