"""Plain data of a simulated modem: its settings, its faults, and what passes to the network.

Kept apart from the interpreter so the command handlers and the network can share the types
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from gatewayd.sms import Concat

DEFAULT_SMSC = "+5511999000000"
DEFAULT_PIN = "1234"
OPERATOR_LONG_NAME = "SIMNET BR"
OPERATOR_SHORT_NAME = "SIMNET"
OPERATOR_NUMERIC = "72405"
SIGNAL_RSSI = 20


class AtError(Exception):
    """Ends a command with a final result other than OK (``ERROR``, ``+CMS ERROR: 304``...)."""

    def __init__(self, final: str) -> None:
        super().__init__(final)
        self.final = final


class SubmissionRejected(Exception):
    """The network refused a submitted SMS; the modem answers ``+CMS ERROR: <code>``."""

    def __init__(self, code: int) -> None:
        super().__init__(f"+CMS ERROR: {code}")
        self.code = code


@dataclass
class FactorySettings:
    """Everything ATZ / AT&F / a power cycle puts back to the factory defaults."""

    echo: bool = True
    cmee: int = 0
    cmgf: int = 0
    cnmi: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    mem1: str = "SM"
    mem2: str = "SM"
    mem3: str = "SM"
    cscs: str = "GSM"
    creg: int = 0
    cgreg: int = 0
    cereg: int = 0
    cops_format: int = 0
    csms: int = 0
    cmms: int = 0
    csmp: tuple[int, int, int, int] = (17, 167, 0, 0)
    csdh: int = 0
    cusd: int = 0
    fun: int = 1
    ifc: tuple[int, int] = (2, 2)


@dataclass
class FaultState:
    """Faults injected through the control API or `SimNetwork.fault`."""

    cms_error_code: int = 0
    cms_error_count: int = 0
    hang_until: float = 0.0
    no_network: bool = False
    pin_required: bool = False


@dataclass(frozen=True)
class Submission:
    """One SMS part a modem handed to the network (decoded from its SMS-SUBMIT or text mode)."""

    recipient: str
    text: str | None
    concat: Concat | None
    status_report: bool
    encoding: str
    mr: int
    submitted_at: datetime


@dataclass(frozen=True)
class IncomingPart:
    """A PDU the network hands to a modem: an SMS-DELIVER or an SMS-STATUS-REPORT."""

    kind: Literal["deliver", "report"]
    pdu: str
    tpdu_length: int


@dataclass
class PromptRequest:
    """A command (AT+CMGS / AT+CMGW) that wants the ``> `` prompt and then a PDU or text."""

    command: Literal["+CMGS", "+CMGW"]
    length: int = 0
    recipient: str = ""
    store_status: int = 2
    text_lines: list[str] = field(default_factory=list)
