"""V.250 basics and identification: ATE, ATZ, AT&F, ATI, S registers, AT+CGMI... AT+CSCS.

Every handler takes the modem and one parsed request and returns the information lines of an
OK answer, or raises `AtError` for any other final result.
"""

from __future__ import annotations

from collections.abc import Callable

from gatewayd.simulator.atparse import AtRequest
from gatewayd.simulator.device import Handler, SimulatedModem
from gatewayd.simulator.profiles import ModemProfile
from gatewayd.simulator.state import AtError
from gatewayd.simulator.textmode import text_timestamp

CHARSETS = ("IRA", "GSM", "UCS2")
SIM_PIN_REQUIRED_CME = 10 + 1
DEFAULT_S_REGISTERS = {0: 0, 2: 43, 3: 13, 4: 10, 5: 8, 6: 2, 7: 50, 8: 2, 10: 15, 12: 50}


def require_unlocked(modem: SimulatedModem) -> None:
    if modem.sim_locked:
        raise modem.cme_error(SIM_PIN_REQUIRED_CME)


def _flag(request: AtRequest, allowed: tuple[str, ...]) -> str:
    value = request.argument or "0"
    if value not in allowed:
        raise AtError("ERROR")
    return value


def echo(modem: SimulatedModem, request: AtRequest) -> list[str]:
    modem.settings.echo = _flag(request, ("0", "1")) == "1"
    return []


def verbose(modem: SimulatedModem, request: AtRequest) -> list[str]:
    _flag(request, ("1",))  # only verbose result codes are offered
    return []


def quiet(modem: SimulatedModem, request: AtRequest) -> list[str]:
    _flag(request, ("0",))
    return []


def reset(modem: SimulatedModem, request: AtRequest) -> list[str]:
    _flag(request, ("0",))
    modem.settings = modem.factory_settings()
    return []


def accepted(modem: SimulatedModem, request: AtRequest) -> list[str]:
    return []


def no_carrier(modem: SimulatedModem, request: AtRequest) -> list[str]:
    raise AtError("NO CARRIER")


def information(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.argument in ("", "0"):
        return modem.profile.ati_lines(modem.identity.imei)
    if request.argument == "1":
        return [modem.profile.revision]
    raise AtError("ERROR")


def s_register(modem: SimulatedModem, request: AtRequest) -> list[str]:
    register = int(request.name[1:])
    registers = modem.s_registers
    if request.form == "read":
        return [f"{registers.get(register, DEFAULT_S_REGISTERS.get(register, 0)):03d}"]
    value = int(request.argument or "0")
    if value > 255:
        raise AtError("ERROR")
    registers[register] = value
    return []


def fixed_answer(
    lines: Callable[[SimulatedModem], list[str]], *, needs_sim: bool = False
) -> Handler:
    """A command that only answers (AT+CGMI...): action form and test form, nothing else."""

    def handler(modem: SimulatedModem, request: AtRequest) -> list[str]:
        if request.form == "test":
            return []
        if request.form != "action":
            raise AtError("ERROR")
        if needs_sim:
            require_unlocked(modem)
        return lines(modem)

    return handler


def cmee(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        return [f"+CMEE: {modem.settings.cmee}"]
    if request.form == "test":
        return ["+CMEE: (0-2)"]
    value = request.int_params()[0] if request.argument else 0
    if value not in (0, 1, 2):
        raise modem.cme_error(3)
    modem.settings.cmee = value
    return []


def cscs(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        return [f'+CSCS: "{modem.settings.cscs}"']
    if request.form == "test":
        return ["+CSCS: (" + ",".join(f'"{name}"' for name in CHARSETS) + ")"]
    if request.form != "set":
        raise AtError("ERROR")
    params = request.params()
    if not params or params[0].upper() not in CHARSETS:
        raise modem.cme_error(4)
    modem.settings.cscs = params[0].upper()
    return []


def ifc(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        return [f"+IFC: {modem.settings.ifc[0]},{modem.settings.ifc[1]}"]
    if request.form == "test":
        return ["+IFC: (0,2),(0,2)"]
    values = [*request.int_params(), None, None]
    by_te = values[0] if values[0] is not None else 2
    by_ta = values[1] if values[1] is not None else 2
    if by_te not in (0, 2) or by_ta not in (0, 2):
        raise modem.cme_error(4)
    modem.settings.ifc = (by_te, by_ta)
    return []


def clock(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        return [f"+CCLK: {text_timestamp(modem.now())}"]
    if request.form in ("test", "set"):
        return []
    raise AtError("ERROR")


def own_number(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "test":
        return []
    require_unlocked(modem)
    number = modem.identity.number
    return [f'+CNUM: "","{modem.encode_string(number)}",{145 if number[0] == "+" else 129}']


def _manufacturer(modem: SimulatedModem) -> list[str]:
    profile: ModemProfile = modem.profile
    return [profile.manufacturer]


def _model(modem: SimulatedModem) -> list[str]:
    profile: ModemProfile = modem.profile
    return [profile.model]


def _revision(modem: SimulatedModem) -> list[str]:
    profile: ModemProfile = modem.profile
    return [profile.revision]


def _imei(modem: SimulatedModem) -> list[str]:
    return [modem.identity.imei]


def _imsi(modem: SimulatedModem) -> list[str]:
    return [modem.identity.imsi]


def iccid(modem: SimulatedModem, request: AtRequest) -> list[str]:
    """The ICCID under whichever name the profile's firmware gives the command."""
    if request.name not in modem.profile.iccid_commands:
        raise AtError(modem.profile.unknown_command)
    if request.form == "test":
        return []
    if request.form not in ("action", "read"):
        raise AtError("ERROR")
    require_unlocked(modem)
    return [modem.profile.iccid_format.format(iccid=modem.identity.iccid)]


def vendor_switch(modem: SimulatedModem, request: AtRequest) -> list[str]:
    """`AT^CURC=0|1` (Huawei), `AT+QINDCFG="csq",0|1` (Quectel) and plain vendor settings."""
    profile = modem.profile
    if request.name != profile.noise_switch and request.name not in profile.vendor_commands:
        raise AtError(profile.unknown_command)
    if request.form in ("test", "read"):
        return []
    params = request.params()
    if request.name == profile.noise_switch and params:
        flag = params[0]
        if request.name == "+QINDCFG":  # <urctype>,<enable>[,<savetomem>]
            if params[0].lower() not in ("csq", "all") or len(params) < 2:
                return []
            flag = params[1]
        if flag not in ("0", "1"):
            raise modem.cme_error(3)
        modem.noise_enabled = flag == "1"
    return []


_identity_handlers: dict[str, Handler] = {
    "+CGMI": fixed_answer(_manufacturer),
    "+CGMM": fixed_answer(_model),
    "+CGMR": fixed_answer(_revision),
    "+CGSN": fixed_answer(_imei),
    "+CIMI": fixed_answer(_imsi, needs_sim=True),
    "+GCAP": fixed_answer(lambda modem: ["+GCAP: +CGSM"]),
    "+CPAS": fixed_answer(lambda modem: ["+CPAS: 0"]),
}

BASIC_COMMANDS: dict[str, Handler] = {
    "E": echo,
    "V": verbose,
    "Q": quiet,
    "Z": reset,
    "&F": reset,
    "I": information,
    "X": accepted,
    "L": accepted,
    "M": accepted,
    "H": accepted,
    "&C": accepted,
    "&D": accepted,
    "&K": accepted,
    "&W": accepted,
    "D": no_carrier,
    "A": no_carrier,
    **{f"S{register}": s_register for register in range(0, 13)},
    **_identity_handlers,
    "+GMI": _identity_handlers["+CGMI"],
    "+GMM": _identity_handlers["+CGMM"],
    "+GMR": _identity_handlers["+CGMR"],
    "+GSN": _identity_handlers["+CGSN"],
    **{name: iccid for name in ("+CCID", "+ICCID", "^ICCID", "+QCCID", "+CICCID", "!ICCID")},
    "^CURC": vendor_switch,
    "^PORTSEL": vendor_switch,
    "+QINDCFG": vendor_switch,
    "+CMEE": cmee,
    "+CSCS": cscs,
    "+IFC": ifc,
    "+CCLK": clock,
    "+CNUM": own_number,
}
