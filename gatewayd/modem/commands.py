"""The AT command table: how long each command may take and which prefix its answer lines carry.

Declared once as data; the channel looks up every command it sends here. A command not in the
table gets `DEFAULT_TIMEOUT` and the prefix of its own name (`AT+FOO=1` -> `+FOO`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_TIMEOUT = 5.0
NO_PREFIX = ""


@dataclass(frozen=True)
class CommandSpec:
    """Timeout in seconds and the answer-line prefix (None: answer lines are bare text)."""

    name: str
    timeout: float
    prefix: str | None


# name: (timeout seconds, answer prefix). NO_PREFIX marks commands answered with bare lines
# (or whose "+NAME:" lines are unsolicited, like +CUSD). "=?" entries are test commands.
_TABLE: dict[str, tuple[float, str | None]] = {
    "": (3.0, NO_PREFIX),  # plain AT
    "E0": (3.0, NO_PREFIX),
    "E1": (3.0, NO_PREFIX),
    "Z": (10.0, NO_PREFIX),
    "&F": (10.0, NO_PREFIX),
    "I": (5.0, NO_PREFIX),
    "+CMEE": (3.0, "+CMEE"),
    "+CMGF": (3.0, "+CMGF"),
    "+CSQ": (2.0, "+CSQ"),
    "+CREG": (5.0, "+CREG"),
    "+CGREG": (5.0, "+CGREG"),
    "+CEREG": (5.0, "+CEREG"),
    "+COPS": (30.0, "+COPS"),
    "+COPS=?": (180.0, "+COPS"),
    "+CPIN": (15.0, "+CPIN"),
    "+CGMI": (5.0, NO_PREFIX),
    "+CGMM": (5.0, NO_PREFIX),
    "+CGMR": (5.0, NO_PREFIX),
    "+CGSN": (5.0, NO_PREFIX),
    "+CIMI": (5.0, NO_PREFIX),
    "+CCID": (5.0, NO_PREFIX),
    "+ICCID": (5.0, NO_PREFIX),
    "^ICCID": (5.0, "^ICCID"),
    "+QCCID": (5.0, NO_PREFIX),  # Quectel
    "+CICCID": (5.0, NO_PREFIX),  # SIMCom LTE answers "+ICCID: ..."
    "!ICCID": (5.0, NO_PREFIX),  # Sierra Wireless answers "ICCID: ..."
    "+CNMI": (5.0, "+CNMI"),
    "+CPMS": (10.0, "+CPMS"),
    "+CSMS": (5.0, "+CSMS"),
    "+CSCA": (5.0, "+CSCA"),
    "+CNMA": (5.0, NO_PREFIX),
    "+CMGS": (60.0, "+CMGS"),
    "+CMGL": (30.0, "+CMGL"),
    "+CMGR": (10.0, "+CMGR"),
    "+CMGD": (10.0, NO_PREFIX),
    "+CUSD": (30.0, NO_PREFIX),
    "+CFUN": (30.0, "+CFUN"),
}

_NAME_RE = re.compile(r"^AT([+^$%&!][A-Z0-9]+|[A-Z&]\d*|)", re.IGNORECASE)


def command_name(command: str) -> str:
    """`AT+CMGS=23` -> `+CMGS`; `AT+COPS=?` -> `+COPS=?`; `ATE0` -> `E0`; `AT` -> ``."""
    match = _NAME_RE.match(command.strip())
    if not match:
        return command.strip().upper()
    name = match.group(1).upper()
    if command.strip().endswith("=?"):
        return name + "=?"
    return name


def spec_for(command: str) -> CommandSpec:
    """The table entry for `command` (full text as sent, e.g. `AT+CMGR=3`)."""
    name = command_name(command)
    entry = _TABLE.get(name)
    base = name.removesuffix("=?")
    if entry is None:
        entry = _TABLE.get(base)
    if entry is None:
        entry = (DEFAULT_TIMEOUT, base if base[:1] in "+^$%" else NO_PREFIX)
    timeout, prefix = entry
    return CommandSpec(name=name, timeout=timeout, prefix=prefix or None)
