"""Splitting one AT command line into its commands, as a V.250 modem does.

``AT+CMEE=1;+CREG=2`` holds two extended commands; ``ATE0V1&D2`` holds three basic ones. Each
becomes an :class:`AtRequest` with a canonical upper-case name and its form: action (``+CGMI``),
read (``+CREG?``), test (``+CNMI=?``) or set (``+CNMI=1,2,0,1,0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RequestForm = Literal["action", "read", "test", "set"]

EXTENDED_PREFIXES = "+$^%*#!"


class AtSyntaxError(ValueError):
    """The line is not a well-formed command line; the modem answers ERROR."""


@dataclass(frozen=True)
class AtRequest:
    """One command of a command line."""

    name: str
    form: RequestForm
    argument: str = ""

    def params(self) -> list[str]:
        """Comma-separated parameters with surrounding quotes removed; empty ones stay ''."""
        return [value.strip('"') for value in split_params(self.argument)]

    def int_params(self) -> list[int | None]:
        """Parameters as integers (None where omitted); AtSyntaxError when not numeric."""
        values: list[int | None] = []
        for raw in split_params(self.argument):
            if raw == "":
                values.append(None)
            elif raw.isdigit():
                values.append(int(raw))
            else:
                raise AtSyntaxError(f"not a number: {raw!r}")
        return values


def split_params(argument: str) -> list[str]:
    """Split on commas outside double quotes; whitespace around each parameter is dropped."""
    if argument.strip() == "":
        return []
    params: list[str] = []
    current: list[str] = []
    quoted = False
    for char in argument:
        if char == '"':
            quoted = not quoted
            current.append(char)
        elif char == "," and not quoted:
            params.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if quoted:
        raise AtSyntaxError("unterminated string")
    params.append("".join(current).strip())
    return params


def _extended(body: str, start: int) -> tuple[AtRequest, int]:
    end = start + 1
    while end < len(body) and (body[end].isalnum() or body[end] in "_"):
        end += 1
    name = body[start:end].upper()
    if len(name) < 2:
        raise AtSyntaxError("empty extended command name")
    # the rest of this command runs to the next ';' outside quotes
    rest_end = end
    quoted = False
    while rest_end < len(body) and (quoted or body[rest_end] != ";"):
        if body[rest_end] == '"':
            quoted = not quoted
        rest_end += 1
    if quoted:
        raise AtSyntaxError("unterminated string")
    suffix = body[end:rest_end].strip()
    next_start = rest_end + 1 if rest_end < len(body) else rest_end
    if suffix == "":
        return AtRequest(name, "action"), next_start
    if suffix == "?":
        return AtRequest(name, "read"), next_start
    if suffix == "=?":
        return AtRequest(name, "test"), next_start
    if suffix.startswith("="):
        return AtRequest(name, "set", suffix[1:].strip()), next_start
    raise AtSyntaxError(f"bad suffix {suffix!r} after {name}")


def _digits(body: str, start: int) -> tuple[str, int]:
    end = start
    while end < len(body) and body[end].isdigit():
        end += 1
    return body[start:end], end


def _basic(body: str, start: int) -> tuple[AtRequest, int]:
    upper = body[start].upper()
    if upper == "&":
        if start + 1 >= len(body) or not body[start + 1].isalpha():
            raise AtSyntaxError("'&' without a command letter")
        digits, end = _digits(body, start + 2)
        return AtRequest("&" + body[start + 1].upper(), "set", digits), end
    if upper == "S":
        register, end = _digits(body, start + 1)
        if not register:
            raise AtSyntaxError("S without a register number")
        if end < len(body) and body[end] == "?":
            return AtRequest("S" + register, "read"), end + 1
        if end < len(body) and body[end] == "=":
            value, end = _digits(body, end + 1)
            return AtRequest("S" + register, "set", value), end
        raise AtSyntaxError("S register without '?' or '='")
    if upper == "D":  # dialling takes the rest of the line
        return AtRequest("D", "set", body[start + 1 :]), len(body)
    if not upper.isalpha():
        raise AtSyntaxError(f"unexpected {body[start]!r}")
    digits, end = _digits(body, start + 1)
    return AtRequest(upper, "set", digits), end


def parse_command_line(line: str) -> list[AtRequest]:
    """The commands of one line (without the trailing CR). The line must start with AT."""
    stripped = line.strip()
    if stripped[:2].upper() != "AT":
        raise AtSyntaxError("no AT prefix")
    body = stripped[2:]
    requests: list[AtRequest] = []
    position = 0
    while position < len(body):
        char = body[position]
        if char in " ;":
            position += 1
            continue
        if char in EXTENDED_PREFIXES:
            request, position = _extended(body, position)
        else:
            request, position = _basic(body, position)
        requests.append(request)
    return requests
