"""Standard answers of a well-behaved modem, for driving `AtModem` against `FakeDevice`."""

from __future__ import annotations

from .fake_device import Reply, final, ok

IMEI = "356938035643809"
IMSI = "724051234567890"
ICCID = "8955051234567890123"


def standard_answers() -> dict[str, Reply]:
    return {
        "AT": ok(),
        "ATE0": ok(),
        "AT+CMEE=1": ok(),
        "AT+CPIN?": ok("+CPIN: READY"),
        "AT+CMGF=0": ok(),
        "AT+CSMS?": ok("+CSMS: 0,1,1,1"),
        "AT+CPMS=?": ok('+CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")'),
        'AT+CPMS="ME","ME","ME"': ok("+CPMS: 0,100,0,100,0,100"),
        'AT+CPMS="ME"': ok("+CPMS: 0,100,0,100,0,100"),
        'AT+CPMS="SM"': ok("+CPMS: 0,20,0,100,0,100"),
        'AT+CPMS="SR"': ok("+CPMS: 1,20,0,100,0,100"),
        "AT+CNMI=?": ok("+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"),
        "AT+CGMI": ok("ACME Wireless"),
        "AT+CGMM": ok("+CGMM: GSM-1000"),
        "AT+CGMR": ok("1.2.3"),
        "AT+CGSN": ok(IMEI),
        "AT+CIMI": ok(IMSI),
        "AT+CCID": final("ERROR"),
        "AT+ICCID": ok(f"+ICCID: {ICCID}"),
        "AT+CSQ": ok("+CSQ: 20,99"),
        "AT+CREG?": ok("+CREG: 0,5"),
        "AT+CGREG?": ok("+CGREG: 0,1"),
        "AT+CEREG?": final("+CME ERROR: 4"),
        "AT+COPS?": ok('+COPS: 0,0,"Vivo",7'),
        "AT+CNMA": ok(),
    }


def default_reply(command: str) -> Reply:
    """Anything not scripted: OK for settings (`=`), ERROR for unknown queries."""
    if command.upper().startswith("AT+CNMI=") or command.upper().startswith("AT+CMGD="):
        return ok()
    return final("ERROR")
