"""Choosing settings from what the modem offers: `AT+CNMI=?`, `AT+CPMS=?`, `AT+CSMS?`.

Pure functions: parse the parenthesised option lists and pick the new-message indication
(`+CMT` direct or `+CMTI` stored; `+CDS` direct or `+CDSI` stored) and the storages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Delivery = Literal["direct", "stored", "poll"]

PREFERRED_STORAGES = ("ME", "MT", "SM")
# Used when the modem does not answer `AT+CNMI=?`: tried in order until one is accepted.
FALLBACK_CNMI = ((2, 1, 0, 2, 0), (2, 1, 0, 1, 0), (1, 1, 0, 2, 0), (1, 1, 0, 0, 0))
_MT_DELIVERY: dict[int, Delivery] = {1: "stored", 2: "direct", 3: "direct"}
_DS_DELIVERY: dict[int, Delivery] = {1: "direct", 2: "stored"}


@dataclass(frozen=True)
class Indication:
    """An `AT+CNMI` setting and what it means for incoming messages and reports."""

    values: tuple[int, ...]

    @property
    def command(self) -> str:
        return "AT+CNMI=" + ",".join(str(value) for value in self.values)

    @property
    def messages(self) -> Delivery:
        mt = self.values[1] if len(self.values) > 1 else 0
        return _MT_DELIVERY.get(mt, "poll")

    @property
    def reports(self) -> Delivery:
        ds = self.values[3] if len(self.values) > 3 else 0
        return _DS_DELIVERY.get(ds, "poll")


@dataclass(frozen=True)
class Storages:
    """`AT+CPMS` memories: read/list/delete, write/send, and where new messages go."""

    read: str
    write: str
    receive: str

    @property
    def command(self) -> str:
        return f'AT+CPMS="{self.read}","{self.write}","{self.receive}"'


MAX_RANGE = 255
"""Widest `a-b` range taken from an answer (a broken modem must not make us build millions)."""


def split_groups(text: str) -> list[str]:
    """`(0-2),(1,2),"X"` -> [`0-2`, `1,2`, `"X"`]: top-level comma-separated items."""
    groups: list[str] = []
    depth = 0
    current: list[str] = []
    in_quotes = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
        if not in_quotes and char == "(":
            depth += 1
            if depth == 1:
                continue
        if not in_quotes and char == ")":
            depth -= 1
            if depth == 0:
                continue
        if char == "," and depth == 0 and not in_quotes:
            groups.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    groups.append("".join(current).strip())
    return groups


def parse_int_options(group: str) -> set[int]:
    """`0-2` -> {0,1,2}; `0,2` -> {0,2}; `0-1,3` -> {0,1,3}."""
    values: set[int] = set()
    for item in group.split(","):
        item = item.strip()
        if "-" in item:
            low, _, high = item.partition("-")
            if _number(low) and _number(high) and int(high) - int(low) <= MAX_RANGE:
                values.update(range(int(low), int(high) + 1))
        elif _number(item):
            values.add(int(item))
    return values


def _number(text: str) -> bool:
    """ASCII digits only: ``"²".isdigit()`` is true but ``int("²")`` raises."""
    text = text.strip()
    return text.isascii() and text.isdigit()


def parse_string_options(group: str) -> list[str]:
    return [item.strip().strip('"') for item in group.split(",") if item.strip().strip('"')]


def _pick(allowed: set[int], preferred: tuple[int, ...]) -> int | None:
    return next((value for value in preferred if value in allowed), None)


def choose_indication(offer: str, *, prefer_direct: bool = True) -> Indication | None:
    """Pick `AT+CNMI` values from the `AT+CNMI=?` answer (without the `+CNMI:` prefix)."""
    options = [parse_int_options(group) for group in split_groups(offer)]
    if len(options) < 2:
        return None
    mode = _pick(options[0], (2, 1, 3))
    if mode is None:
        return None
    mt = _pick(options[1], (2, 1) if prefer_direct else (1, 2)) or 0
    if mt not in options[1]:
        return None
    values = [mode, mt]
    if len(options) > 2:
        values.append(0 if 0 in options[2] else min(options[2], default=0))
    if len(options) > 3:
        ds_preference = (1, 2) if prefer_direct else (2, 1)
        values.append(_pick(options[3], ds_preference) or 0)
    if len(options) > 4 and options[4]:
        values.append(0 if 0 in options[4] else min(options[4]))
    return Indication(tuple(values))


def choose_storages(offer: str, preferred: tuple[str, ...] = PREFERRED_STORAGES) -> Storages | None:
    """Pick memories from the `AT+CPMS=?` answer: one memory for reading and receiving."""
    groups = [parse_string_options(group) for group in split_groups(offer)]
    if not groups or not groups[0]:
        return None
    read_options = groups[0]
    write_options = groups[1] if len(groups) > 1 and groups[1] else read_options
    receive_options = groups[2] if len(groups) > 2 and groups[2] else read_options
    common = [name for name in preferred if name in read_options and name in receive_options]
    if not common:
        return None
    chosen = common[0]
    write = chosen if chosen in write_options else write_options[0]
    return Storages(read=chosen, write=write, receive=chosen)


def ack_required(csms_answer: str | None) -> bool:
    """`AT+CSMS?` -> `1,1,1,1`: service 1 (phase 2+) means direct deliveries need `AT+CNMA`."""
    if not csms_answer:
        return False
    first = csms_answer.split(",", 1)[0].strip()
    return first == "1"
