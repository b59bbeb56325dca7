"""SIM, radio and network commands: AT+CPIN, +CSQ, +CREG/+CGREG/+CEREG, +CGATT, +COPS, +CFUN,
and USSD (AT+CUSD) with the network's answer arriving later as an unsolicited +CUSD.
"""

from __future__ import annotations

import asyncio

from gatewayd.simulator.atparse import AtRequest
from gatewayd.simulator.commands_basic import require_unlocked
from gatewayd.simulator.device import Handler, SimulatedModem
from gatewayd.simulator.state import (
    DEFAULT_PIN,
    OPERATOR_LONG_NAME,
    OPERATOR_NUMERIC,
    OPERATOR_SHORT_NAME,
    SIGNAL_RSSI,
    AtError,
)

LOCATION_AREA = "00A1"
CELL_ID = "0B2C"
ACCESS_TECHNOLOGY = 2  # UTRAN
INCORRECT_PASSWORD = 16
OPERATION_NOT_ALLOWED = 3
NO_NETWORK_SERVICE = 30
USSD_ANSWERS = {
    "*100#": "Saldo: R$ 12,34. Validade: 31/12/2030.",
    "*101#": "Pacote de dados: 1.5 GB restantes.",
}
USSD_UNKNOWN = "Servico indisponivel."
# Menus answered with status 1 (further action required); the next AT+CUSD=1,"<choice>" in the
# same session picks an entry.
USSD_MENUS = {
    "*111#": ("Menu: 1-Saldo 2-Pacotes", {"1": USSD_ANSWERS["*100#"], "2": USSD_ANSWERS["*101#"]}),
}
REGISTERED_HOME, NOT_REGISTERED, SEARCHING = 1, 0, 2


def registration_status(modem: SimulatedModem) -> int:
    if modem.registered:
        return REGISTERED_HOME
    return SEARCHING if modem.faults.no_network and not modem.sim_locked else NOT_REGISTERED


def _registration_line(prefix: str, n: int, status: int, *, solicited: bool) -> str:
    head = f"{prefix}: {n},{status}" if solicited else f"{prefix}: {status}"
    if n == 2 and status in (1, 5):
        return f'{head},"{LOCATION_AREA}","{CELL_ID}"'
    return head


def registration_urcs(modem: SimulatedModem) -> list[str]:
    status = registration_status(modem)
    settings = modem.settings
    return [
        _registration_line(prefix, n, status, solicited=False)
        for prefix, n in (
            ("+CREG", settings.creg),
            ("+CGREG", settings.cgreg),
            ("+CEREG", settings.cereg),
        )
        if n > 0
    ]


def _registration_handler(prefix: str, field: str) -> Handler:
    def handler(modem: SimulatedModem, request: AtRequest) -> list[str]:
        if request.form == "read":
            n = getattr(modem.settings, field)
            return [_registration_line(prefix, n, registration_status(modem), solicited=True)]
        if request.form == "test":
            return [f"{prefix}: (0-2)"]
        if request.form != "set":
            raise AtError("ERROR")
        values = request.int_params()
        n = values[0] if values and values[0] is not None else 0
        if n not in (0, 1, 2):
            raise modem.cme_error(OPERATION_NOT_ALLOWED)
        setattr(modem.settings, field, n)
        return []

    return handler


def cpin(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        return ["+CPIN: SIM PIN" if modem.sim_locked else "+CPIN: READY"]
    if request.form == "test":
        return []
    if request.form != "set":
        raise AtError("ERROR")
    if not modem.sim_locked:
        raise modem.cme_error(OPERATION_NOT_ALLOWED)
    params = request.params()
    if not params or params[0] != DEFAULT_PIN:
        raise modem.cme_error(INCORRECT_PASSWORD)
    modem.pin_entered = True
    modem.registration_changed(was_registered=False)
    return []


def csq(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "test":
        return ["+CSQ: (0-31,99),(0-7,99)"]
    if request.form != "action":
        raise AtError("ERROR")
    return [f"+CSQ: {SIGNAL_RSSI},99" if modem.registered else "+CSQ: 99,99"]


def cgatt(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        return [f"+CGATT: {1 if modem.registered else 0}"]
    if request.form == "test":
        return ["+CGATT: (0,1)"]
    if request.form != "set":
        raise AtError("ERROR")
    return []


def cops(modem: SimulatedModem, request: AtRequest) -> list[str]:
    settings = modem.settings
    if request.form == "read":
        if not modem.registered:
            return ["+COPS: 0"]
        name = (OPERATOR_LONG_NAME, OPERATOR_SHORT_NAME, OPERATOR_NUMERIC)[settings.cops_format]
        return [f'+COPS: 0,{settings.cops_format},"{name}",{ACCESS_TECHNOLOGY}']
    if request.form == "test":
        require_unlocked(modem)
        return [
            f'+COPS: (2,"{OPERATOR_LONG_NAME}","{OPERATOR_SHORT_NAME}","{OPERATOR_NUMERIC}",'
            f"{ACCESS_TECHNOLOGY}),,(0-4),(0-2)"
        ]
    if request.form != "set":
        raise AtError("ERROR")
    values = [*request.int_params(), None, None]
    mode, form = values[0], values[1]
    if mode not in (0, 1, 2, 3, 4) or (form is not None and form not in (0, 1, 2)):
        raise modem.cme_error(OPERATION_NOT_ALLOWED)
    if form is not None:
        settings.cops_format = form
    return []


def cfun(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        return [f"+CFUN: {modem.settings.fun}"]
    if request.form == "test":
        return ["+CFUN: (0,1,4),(0,1)"]
    if request.form != "set":
        raise AtError("ERROR")
    values = [*request.int_params(), None, None]
    fun, restart = values[0], values[1]
    if fun not in (0, 1, 4) or restart not in (None, 0, 1):
        raise modem.cme_error(OPERATION_NOT_ALLOWED)
    if restart == 1:
        modem.restart_after_answer()
        return []
    was_registered = modem.registered
    modem.settings.fun = fun
    modem.registration_changed(was_registered)
    return []


def cusd(modem: SimulatedModem, request: AtRequest) -> list[str]:
    if request.form == "read":
        return [f"+CUSD: {modem.settings.cusd}"]
    if request.form == "test":
        return ["+CUSD: (0-2)"]
    if request.form != "set":
        raise AtError("ERROR")
    params = request.params()
    if not params or params[0] not in ("0", "1", "2"):
        raise modem.cme_error(OPERATION_NOT_ALLOWED)
    if params[0] in ("0", "1"):
        modem.settings.cusd = int(params[0])
    if params[0] == "2":
        modem.ussd_menu = None
    if len(params) < 2 or params[0] == "2":
        return []
    if not modem.registered:
        raise modem.cme_error(NO_NETWORK_SERVICE)
    status, text = _ussd_answer(modem, modem.decode_string(params[1]))
    answer = modem.encode_string(text)
    asyncio.get_running_loop().call_soon(modem.unsolicited, f'+CUSD: {status},"{answer}",15')
    return []


def _ussd_answer(modem: SimulatedModem, code: str) -> tuple[int, str]:
    """(status, text): a menu opens a session (status 1); a choice inside it closes it."""
    menu = USSD_MENUS.get(modem.ussd_menu or "")
    if menu is not None:
        modem.ussd_menu = None
        return 0, menu[1].get(code, USSD_UNKNOWN)
    if code in USSD_MENUS:
        modem.ussd_menu = code
        return 1, USSD_MENUS[code][0]
    return 0, USSD_ANSWERS.get(code, USSD_UNKNOWN)


NETWORK_COMMANDS: dict[str, Handler] = {
    "+CPIN": cpin,
    "+CSQ": csq,
    "+CREG": _registration_handler("+CREG", "creg"),
    "+CGREG": _registration_handler("+CGREG", "cgreg"),
    "+CEREG": _registration_handler("+CEREG", "cereg"),
    "+CGATT": cgatt,
    "+COPS": cops,
    "+CFUN": cfun,
    "+CUSD": cusd,
}
