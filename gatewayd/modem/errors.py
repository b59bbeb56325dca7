"""The modem layer's error tree, classified by what the caller must do next.

Every exception a driver raises is a `ModemError`; its `action` tells the layer above whether to
retry later, move the message to another modem, re-initialise this modem, or fail the message.
`+CMS ERROR` / `+CME ERROR` codes are classified from the package table `cms_errors.json`
(code -> [retry class, meaning]), loaded once by `error_table()`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

ErrorKind = Literal["CMS", "CME", "ERROR"]


class ErrorAction(enum.Enum):
    """What the caller of a failed modem operation should do."""

    RETRY_LATER = "retry_later"
    TRY_OTHER_MODEM = "try_other_modem"
    REINITIALISE = "reinitialise"
    FAIL_MESSAGE = "fail_message"


RETRY_CLASS_ACTIONS: dict[str, ErrorAction] = {
    "temporary": ErrorAction.RETRY_LATER,
    "permanent": ErrorAction.FAIL_MESSAGE,
    "configuration": ErrorAction.TRY_OTHER_MODEM,
    "network": ErrorAction.TRY_OTHER_MODEM,
    "unknown": ErrorAction.RETRY_LATER,
    "not_applicable": ErrorAction.RETRY_LATER,
}


@dataclass(frozen=True)
class ErrorCodeInfo:
    """One row of the error table."""

    retry_class: str
    meaning: str

    @property
    def action(self) -> ErrorAction:
        return RETRY_CLASS_ACTIONS.get(self.retry_class, ErrorAction.RETRY_LATER)


@dataclass(frozen=True)
class ErrorTable:
    """`+CMS ERROR` and `+CME ERROR` codes with their retry class and meaning."""

    cms: dict[int, ErrorCodeInfo]
    cme: dict[int, ErrorCodeInfo]

    def lookup(self, kind: ErrorKind, code: int | None) -> ErrorCodeInfo:
        if kind == "ERROR" or code is None:
            return ErrorCodeInfo("unknown", "unspecified error")
        table = self.cms if kind == "CMS" else self.cme
        info = table.get(code)
        if info is not None:
            return info
        if kind == "CMS" and code >= 512:
            return ErrorCodeInfo("unknown", f"manufacturer specific error {code}")
        return ErrorCodeInfo("unknown", f"unlisted error {code}")

    def code_for_text(self, kind: ErrorKind, text: str) -> int | None:
        """The code of a verbose error (`AT+CMEE=2`: `+CME ERROR: SIM PIN required`)."""
        if kind == "ERROR" or not text:
            return None
        wanted = text.strip().lower()
        table = self.cms if kind == "CMS" else self.cme
        return next((code for code, info in table.items() if info.meaning.lower() == wanted), None)


def parse_error_table(raw: dict[str, object]) -> ErrorTable:
    """Build an `ErrorTable` from the JSON object of `cms_errors.json`."""

    def section(name: str) -> dict[int, ErrorCodeInfo]:
        rows = raw.get(name)
        if not isinstance(rows, dict):
            raise ValueError(f"error table has no {name!r} section")
        parsed: dict[int, ErrorCodeInfo] = {}
        for code, row in rows.items():
            retry_class, meaning = row
            if retry_class not in RETRY_CLASS_ACTIONS:
                raise ValueError(f"unknown retry class {retry_class!r} for {name} {code}")
            parsed[int(code)] = ErrorCodeInfo(str(retry_class), str(meaning))
        return parsed

    return ErrorTable(cms=section("cms"), cme=section("cme"))


@cache
def error_table() -> ErrorTable:
    """The error table shipped with the package (read once)."""
    text = resources.files("gatewayd.modem").joinpath("cms_errors.json").read_text("utf-8")
    return parse_error_table(json.loads(text))


class ModemError(Exception):
    """Base of every error the modem layer raises."""

    action: ErrorAction = ErrorAction.REINITIALISE

    def __init__(self, message: str, *, action: ErrorAction | None = None) -> None:
        super().__init__(message)
        if action is not None:
            self.action = action


class AtCommandError(ModemError):
    """The modem answered a command with `ERROR`, `+CMS ERROR: n` or `+CME ERROR: n`."""

    def __init__(
        self,
        command: str,
        kind: ErrorKind,
        code: int | None,
        *,
        text: str | None = None,
    ) -> None:
        table = error_table()
        if code is None and text:
            code = table.code_for_text(kind, text)
        info = table.lookup(kind, code)
        meaning = text if code is None and text else info.meaning
        self.command = command
        self.kind: ErrorKind = kind
        self.code = code
        self.meaning = meaning
        self.retry_class = info.retry_class
        label = kind if code is None else f"{kind} {code}"
        super().__init__(f"{command}: {label} ({meaning})", action=info.action)


class AtTimeout(ModemError):
    """The modem did not finish answering a command in time."""

    action = ErrorAction.REINITIALISE


class PromptTimeout(AtTimeout):
    """The `> ` prompt of `AT+CMGS` never came; ESC was sent to return to command state."""


class SendOutcomeUnknown(AtTimeout):
    """The PDU was handed to the modem but no verdict came back (timeout or disconnect).

    The message may have left: the caller must not resend it blindly.
    """


class ModemDisconnected(ModemError):
    """The serial device or socket went away."""

    action = ErrorAction.REINITIALISE


class SimError(ModemError):
    """The SIM needs a PIN/PUK we do not have, rejected the PIN, or is missing."""

    action = ErrorAction.TRY_OTHER_MODEM


class ModemResponseError(ModemError):
    """The modem answered with something the driver cannot parse."""

    action = ErrorAction.REINITIALISE


class SendFenced(ModemError):
    """The send's guard said no (this gatewayd host no longer holds its lease) right before
    the `AT+CMGS` or its PDU would have been written: nothing of the PDU was written (at the
    prompt, ESC cancelled the command). Not the modem's fault: the part goes back untouched
    when the queue still takes this host's writes."""

    action = ErrorAction.RETRY_LATER


SendGuard = Callable[[], bool]
"""Asked right before a send is written: False stops it (:class:`SendFenced`)."""


class NotFollowed(Exception):
    """A send queued to follow the one in flight was not started: nothing of it was written
    (the one before failed, or other commands wait for the line). Not a modem error: the
    caller sends it the ordinary way, or gives it back."""
