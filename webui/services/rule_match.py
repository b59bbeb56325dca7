"""Rules on incoming SMS as data: parsing and checking a rule's JSON, deciding whether a
message matches, and filling reply templates. Pure: no I/O.

A rule matches when every condition it sets holds (an unset one holds always):

- ``keyword``: the message's first word, compared folded (case and accents ignored);
- ``regex``: a search in the text, case-insensitive, run with a time limit
  (:data:`REGEX_TIMEOUT`); a pattern that cannot finish on the probe texts within it is refused
  at save time (``slow_regex``), and a search that overruns later counts as no match;
- ``from``: the sender's number, or a prefix of it (``+5511``);
- ``modem``: the name of the modem that received it;
- ``time``: ``start``-``end`` (``HH:MM``, a window past midnight allowed) and ``weekdays``
  (1 Monday … 7 Sunday) in the time zone ``tz``.

Actions are checked for shape here; what they do is :mod:`webui.services.rule_runner`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import regex

from gatewayd.queue.suppression import fold
from webui.services.errors import Invalid

REGEX_TIMEOUT = 0.05
"""Seconds one regex search may take."""
MAX_REGEX = 500
MAX_TEXT_TEMPLATE = 1000
MAX_ACTIONS = 10
MAX_NAME = 100
ACTION_TYPES = (
    "reply",
    "forward_sms",
    "forward_email",
    "webhook",
    "add_to_group",
    "remove_from_group",
    "tag",
)
PROBES = ("a" * 3000 + "!", "ab" * 1500 + "!", "a " * 1500 + "!", "0" * 3000 + "x", "x" * 3000)
"""Texts a saved pattern must get through in time: long runs that make backtracking explode."""
_PLACEHOLDER = re.compile(r"\{(from|text|rest|keyword|modem|received_at|id)\}")
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class TimeWindow:
    start: time | None
    end: time | None
    weekdays: frozenset[int]
    zone: ZoneInfo

    def holds(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        if self.weekdays and local.isoweekday() not in self.weekdays:
            return False
        if self.start is None or self.end is None:
            return True
        now = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end  # across midnight


@dataclass(frozen=True)
class Incoming:
    """What a rule looks at."""

    id: int
    sender: str
    text: str
    modem: str
    received_at: datetime


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    enabled: bool
    stop: bool
    keyword: str | None
    pattern: regex.Pattern[str] | None
    sender: str | None
    modem: str | None
    window: TimeWindow | None
    actions: tuple[dict[str, Any], ...]

    def matches(self, message: Incoming) -> bool:
        if self.keyword is not None and first_word(message.text) != self.keyword:
            return False
        if self.sender is not None and not message.sender.startswith(self.sender):
            return False
        if self.modem is not None and message.modem != self.modem:
            return False
        if self.window is not None and not self.window.holds(message.received_at):
            return False
        if self.pattern is not None:
            try:
                return self.pattern.search(message.text, timeout=REGEX_TIMEOUT) is not None
            except TimeoutError:
                return False
        return True


def first_word(text: str) -> str:
    found = _WORD.search(text[:200])
    return fold(found.group(0)) if found else ""


def fill(template: str, message: Incoming) -> str:
    """``template`` with ``{from}``, ``{text}``, ``{rest}`` (the text after the first word),
    ``{keyword}``, ``{modem}``, ``{received_at}`` and ``{id}`` replaced; other braces kept."""
    words = message.text.strip().split(None, 1)
    values = {
        "from": message.sender,
        "text": message.text,
        "rest": words[1] if len(words) > 1 else "",
        "keyword": words[0] if words else "",
        "modem": message.modem,
        "received_at": message.received_at.isoformat(),
        "id": str(message.id),
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def compile_pattern(source: str, *, probe: bool = True) -> regex.Pattern[str]:
    """The pattern, or ``Invalid``: ``invalid_regex``, or ``slow_regex`` when a probe text
    takes longer than :data:`REGEX_TIMEOUT`."""
    if len(source) > MAX_REGEX:
        raise Invalid("invalid_regex", f"at most {MAX_REGEX} characters", "match.regex")
    try:
        pattern = regex.compile(source, regex.IGNORECASE | regex.V0)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        raise Invalid("invalid_regex", f"not a regular expression: {exc}", "match.regex") from None
    for text in PROBES if probe else ():
        try:
            pattern.search(text, timeout=REGEX_TIMEOUT)
        except TimeoutError:
            raise Invalid(
                "slow_regex",
                "the pattern backtracks too much (it takes too long on long texts)",
                "match.regex",
            ) from None
    return pattern


def _text(value: Any, name: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise Invalid("invalid_rule", f"{name} is required", name)
        return None
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise Invalid("invalid_rule", f"{name} must be a text of at most {limit} characters", name)
    return value


def _window(value: Any) -> TimeWindow | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"start", "end", "weekdays", "tz"}:
        raise Invalid("invalid_rule", "time has start, end, weekdays and tz", "match.time")
    bounds: list[time | None] = []
    for name in ("start", "end"):
        given = value.get(name)
        if given in (None, ""):
            bounds.append(None)
            continue
        found = _TIME.fullmatch(given) if isinstance(given, str) else None
        if found is None:
            raise Invalid("invalid_rule", f"{name} must be HH:MM", f"match.time.{name}")
        bounds.append(time(int(found.group(1)), int(found.group(2))))
    if (bounds[0] is None) != (bounds[1] is None):
        raise Invalid("invalid_rule", "give both start and end, or neither", "match.time")
    days = value.get("weekdays") or []
    if not isinstance(days, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in days
    ):
        raise Invalid("invalid_rule", "weekdays are 1 (Monday) to 7 (Sunday)", "match.time")
    zone_name = value.get("tz") or "UTC"
    try:
        zone = ZoneInfo(zone_name) if isinstance(zone_name, str) and len(zone_name) < 64 else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is None:
        raise Invalid("invalid_rule", "unknown time zone", "match.time.tz")
    return TimeWindow(bounds[0], bounds[1], frozenset(days), zone)


def _action(index: int, action: Any) -> dict[str, Any]:
    where = f"actions[{index}]"
    if not isinstance(action, dict) or action.get("type") not in ACTION_TYPES:
        raise Invalid("invalid_rule", f"{where}.type is one of {', '.join(ACTION_TYPES)}", where)
    kind = action["type"]
    allowed = {
        "reply": {"text"},
        "forward_sms": {"to", "group_id", "text"},
        "forward_email": {"to", "subject", "body"},
        "webhook": {"url"},
        "add_to_group": {"group_id"},
        "remove_from_group": {"group_id"},
        "tag": {"tag"},
    }[kind]
    extra = set(action) - allowed - {"type"}
    if extra:
        raise Invalid("invalid_rule", f"{where} has unknown fields: {sorted(extra)}", where)
    for name in ("text", "subject", "body"):
        _text(action.get(name), f"{where}.{name}", MAX_TEXT_TEMPLATE)
    if kind == "reply":
        _text(action.get("text"), f"{where}.text", MAX_TEXT_TEMPLATE, required=True)
    if kind in ("add_to_group", "remove_from_group") or action.get("group_id") is not None:
        group = action.get("group_id")
        if not isinstance(group, int) or isinstance(group, bool) or not 1 <= group < 2**63:
            raise Invalid("invalid_rule", f"{where}.group_id must be a group's id", where)
    if kind == "forward_sms":
        numbers = action.get("to") or []
        if (
            not isinstance(numbers, list)
            or len(numbers) > 100
            or not all(isinstance(n, str) and 0 < len(n) <= 32 for n in numbers)
        ):
            raise Invalid("invalid_rule", f"{where}.to is a list of at most 100 numbers", where)
        if not numbers and action.get("group_id") is None:
            raise Invalid("invalid_rule", f"{where} needs numbers (to) or a group_id", where)
    if kind == "forward_email":
        _text(action.get("to"), f"{where}.to", 320, required=True)
    if kind == "webhook":
        _text(action.get("url"), f"{where}.url", 2000, required=True)
    if kind == "tag":
        _text(action.get("tag"), f"{where}.tag", 64, required=True)
    return dict(action)


def parse_rule(row_id: int, data: dict[str, Any], *, probe: bool = True) -> Rule:
    """A rule from its JSON fields (``name``, ``enabled``, ``match``, ``actions``, ``stop``);
    ``Invalid`` naming the field on any mistake. ``probe``: try the pattern on the probe texts
    (at save time; a stored rule passed them already)."""
    name = _text(data.get("name"), "name", MAX_NAME, required=True)
    match = data.get("match") or {}
    if not isinstance(match, dict) or set(match) - {"keyword", "regex", "from", "modem", "time"}:
        raise Invalid("invalid_rule", "match has keyword, regex, from, modem and time", "match")
    keyword = _text(match.get("keyword"), "match.keyword", 64)
    if keyword is not None and (not fold(keyword) or len(keyword.split()) != 1):
        raise Invalid("invalid_rule", "a keyword is one word", "match.keyword")
    source = _text(match.get("regex"), "match.regex", MAX_REGEX)
    sender = _text(match.get("from"), "match.from", 32)
    if sender is not None and not re.fullmatch(r"\+?[0-9]{1,15}", sender):
        raise Invalid("invalid_rule", "from is a number or a prefix such as +5511", "match.from")
    actions = data.get("actions")
    if not isinstance(actions, list) or not 1 <= len(actions) <= MAX_ACTIONS:
        raise Invalid("invalid_rule", f"actions is a list of 1 to {MAX_ACTIONS}", "actions")
    for flag in ("enabled", "stop"):
        if flag in data and not isinstance(data[flag], bool):
            raise Invalid("invalid_rule", f"{flag} is true or false", flag)
    return Rule(
        id=row_id,
        name=name or "",
        enabled=bool(data.get("enabled", True)),
        stop=bool(data.get("stop", False)),
        keyword=fold(keyword) if keyword else None,
        pattern=compile_pattern(source, probe=probe) if source else None,
        sender=sender,
        modem=_text(match.get("modem"), "match.modem", 32),
        window=_window(match.get("time")),
        actions=tuple(_action(i, a) for i, a in enumerate(actions)),
    )


def evaluate(rules: list[Rule], message: Incoming) -> list[Rule]:
    """The enabled rules that match, in order, up to and including the first with ``stop``."""
    matched: list[Rule] = []
    for rule in rules:
        if not rule.enabled or not rule.matches(message):
            continue
        matched.append(rule)
        if rule.stop:
            break
    return matched
