"""The suppression lists as the send queue sees them: which recipients must be refused
(``opted_out``) and the opt-out words an incoming SMS may consist of.

A recipient is refused when its number is on the opt-out list, or when a block entry (the
number, or a prefix of it) matches and no allow entry does. The check costs one indexed
lookup per batch (:func:`refusals`, chunks of :data:`CHUNK` numbers) plus the prefix entries,
which are few; the per-recipient work is a ``str.startswith`` on a tuple.

Words are compared folded (:func:`fold`): accents and case ignored, surrounding spaces and
punctuation dropped; the whole text must be the word (``STOP``, ``Stop!``, ``stóp``), so a
message that merely mentions one is not an opt-out.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import SuppressionKind, suppressions, web_settings

CHUNK = 5000
"""Numbers per lookup: under every driver's bound-parameter limit."""

SETTINGS_NAME = "opt_out"
"""The ``web_settings`` row holding :class:`OptOutSettings` as JSON."""

DEFAULT_STOP_WORDS = ("STOP", "SAIR", "PARAR", "CANCELAR", "DESCADASTRAR", "UNSUBSCRIBE")
DEFAULT_START_WORDS = ("START", "VOLTAR")
DEFAULT_STOP_REPLY = (
    "You will receive no more messages from us. Reply START to subscribe again. / "
    "Você não receberá mais mensagens. Responda VOLTAR para voltar a receber."
)
DEFAULT_START_REPLY = (
    "You are subscribed again. Reply STOP to stop. / "
    "Você voltou a receber mensagens. Responda SAIR para parar."
)
_EDGE = " \t\r\n.,;:!?¡¿\"'()[]{}-_*~"


def fold(text: str) -> str:
    """``text`` without accents, in upper case, without surrounding spaces and punctuation."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.strip(_EDGE).upper()


@dataclass(frozen=True)
class OptOutSettings:
    """The words and confirmations of the opt-out list; an empty reply sends none."""

    stop_words: tuple[str, ...] = DEFAULT_STOP_WORDS
    start_words: tuple[str, ...] = DEFAULT_START_WORDS
    stop_reply: str = DEFAULT_STOP_REPLY
    start_reply: str = DEFAULT_START_REPLY

    def word_of(self, text: str) -> SuppressionKind | None:
        """OPT_OUT for a stop word, ALLOW for a start word (the number leaves the list)."""
        if len(text) > 64:
            return None
        word = fold(text)
        if word in {fold(w) for w in self.stop_words}:
            return SuppressionKind.OPT_OUT
        if word in {fold(w) for w in self.start_words}:
            return SuppressionKind.ALLOW
        return None

    def as_json(self) -> dict[str, object]:
        return {
            "stop_words": list(self.stop_words),
            "start_words": list(self.start_words),
            "stop_reply": self.stop_reply,
            "start_reply": self.start_reply,
        }

    @classmethod
    def from_json(cls, value: object) -> OptOutSettings:
        if not isinstance(value, dict):
            return cls()
        default = cls()

        def words(name: str, fallback: tuple[str, ...]) -> tuple[str, ...]:
            given = value.get(name)
            if not isinstance(given, list):
                return fallback
            return tuple(str(w) for w in given if str(w).strip())

        def reply(name: str, fallback: str) -> str:
            given = value.get(name)
            return given if isinstance(given, str) else fallback

        return cls(
            words("stop_words", default.stop_words),
            words("start_words", default.start_words),
            reply("stop_reply", default.stop_reply),
            reply("start_reply", default.start_reply),
        )


async def load_settings(conn: AsyncConnection) -> OptOutSettings:
    value = await conn.scalar(
        select(web_settings.c.value).where(web_settings.c.name == SETTINGS_NAME)
    )
    return OptOutSettings.from_json(value)


@dataclass
class _Entries:
    opted_out: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    allowed: set[str] = field(default_factory=set)
    blocked_prefixes: list[str] = field(default_factory=list)
    allowed_prefixes: list[str] = field(default_factory=list)


_PG_ENTRIES = (
    "SELECT number, kind, prefix FROM suppressions "
    "WHERE (prefix AND $2) OR (NOT prefix AND number = ANY($1::varchar[]))"
)
"""The lookup on PostgreSQL: the numbers as one array parameter, a statement prepared once
(the portable ``IN`` list is a new statement for every count of numbers)."""


async def _entries(conn: AsyncConnection, numbers: Sequence[str]) -> _Entries:
    found = _Entries()
    s = suppressions.c
    postgresql = conn.dialect.name == "postgresql"
    for start in range(0, max(len(numbers), 1), CHUNK):
        chunk = numbers[start : start + CHUNK]
        if postgresql:
            rows: Any = await conn.exec_driver_sql(_PG_ENTRIES, (list(chunk), start == 0))
        else:
            wanted: list[ColumnElement[bool]] = [s.prefix.is_(True)] if start == 0 else []
            if chunk:
                wanted.append(s.number.in_(chunk) & s.prefix.is_(False))
            rows = await conn.execute(select(s.number, s.kind, s.prefix).where(or_(*wanted)))
        for number, kind, prefix in rows:
            if prefix:
                target = found.allowed_prefixes if kind == "allow" else found.blocked_prefixes
                target.append(number)
            elif kind == SuppressionKind.OPT_OUT:
                found.opted_out.add(number)
            elif kind == SuppressionKind.BLOCK:
                found.blocked.add(number)
            else:
                found.allowed.add(number)
    return found


async def refusals(
    conn: AsyncConnection, recipients: Collection[str], *, exempt: Collection[str] = ()
) -> dict[str, str]:
    """The recipients (E.164) that must not be sent to, each with a one-line reason; those in
    ``exempt`` (the confirmation of an opt-out) are never refused."""
    numbers = sorted(set(recipients).difference(exempt))
    if not numbers:
        return {}
    found = await _entries(conn, numbers)
    blocked_prefixes = tuple(found.blocked_prefixes)
    allowed_prefixes = tuple(found.allowed_prefixes)
    refused: dict[str, str] = {}
    if not (found.opted_out or found.blocked or blocked_prefixes):
        return refused
    for number in numbers:
        if number in found.opted_out:
            refused[number] = f"{number} opted out of messages"
        elif (number in found.blocked or number.startswith(blocked_prefixes)) and not (
            number in found.allowed or number.startswith(allowed_prefixes)
        ):
            refused[number] = f"{number} is on the block list"
    return refused
