"""Fault kinds of the simulated modems and the validation of their parameters.

A fault request is a kind plus parameters, as posted to ``/modems/{i}/fault``:
``cms_error`` {code, count=1}: the next ``count`` AT+CMGS answer ``+CMS ERROR: code``;
``hang`` {seconds}: no answer at all for that long (input is lost);
``disconnect`` {seconds?}: the device vanishes, back under the same name after ``seconds`` or
on ``clear``; ``garbage`` {bytes}: junk on the line now; ``no_network``: deregistered,
AT+CMGS -> +CMS ERROR: 331; ``sim_pin``: the SIM asks for its PIN (1234); ``clear``: all off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FAULT_KINDS = ("cms_error", "hang", "disconnect", "garbage", "no_network", "sim_pin", "clear")
MAX_GARBAGE_BYTES = 1 << 16
MAX_SECONDS = 24 * 3600


class FaultError(ValueError):
    """A fault request that cannot be applied; ``str()`` is one line for the API client."""


@dataclass(frozen=True)
class FaultRequest:
    kind: str
    code: int = 0
    count: int = 1
    seconds: float | None = None
    size: int = 0


def _integer(params: dict[str, Any], name: str, low: int, high: int, default: int | None) -> int:
    value = params.get(name, default)
    if value is None:
        raise FaultError(f"'{name}' is required")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultError(f"'{name}' must be an integer from {low} to {high}")
    return value


def _seconds(params: dict[str, Any], *, required: bool) -> float | None:
    value = params.get("seconds")
    if value is None:
        if required:
            raise FaultError("'seconds' is required")
        return None
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if not numeric or not 0 < value <= MAX_SECONDS:
        raise FaultError(f"'seconds' must be a number above 0 and at most {MAX_SECONDS}")
    return float(value)


def parse_fault(kind: object, params: dict[str, Any]) -> FaultRequest:
    """Check a fault request; FaultError names the first problem."""
    if kind not in FAULT_KINDS:
        raise FaultError(f"'kind' must be one of {', '.join(FAULT_KINDS)}")
    assert isinstance(kind, str)
    if kind == "cms_error":
        return FaultRequest(
            kind,
            code=_integer(params, "code", 0, 1023, None),
            count=_integer(params, "count", 1, 1_000_000, 1),
        )
    if kind == "hang":
        return FaultRequest(kind, seconds=_seconds(params, required=True))
    if kind == "disconnect":
        return FaultRequest(kind, seconds=_seconds(params, required=False))
    if kind == "garbage":
        return FaultRequest(kind, size=_integer(params, "bytes", 1, MAX_GARBAGE_BYTES, None))
    return FaultRequest(kind)
