"""The contract between processes on the bus: every channel, every event that travels on one,
and its JSON wire form, defined once for gatewayd and the web UI alike.

Each event is a frozen dataclass with a ``version``; :func:`to_wire` builds its wire form (a JSON
object whose ``type`` names the event) and :meth:`Channel.parse` turns a wire form back into the
typed event of that channel, raising :class:`EventError` (with a precise reason) for anything
else: not an object, an unknown type, a type the channel does not carry, another version, a
field missing or of the wrong kind. Fields a receiver does not know are ignored, so a field may
be added without a new version; renaming or retyping one takes a new version. A wire form
without ``version`` is version 1 (what was sent before versions were written down), and on a
channel that carries one type, a wire form without ``type`` is that type.

The live stream (``GET /events``) sends browsers the wire form of :data:`LIVE_TYPES` as is, so
those shapes are public: fields are only ever added to them.

Operator commands and their answers travel sealed (:mod:`gatewayd.commands`): the channels carry
:class:`Sealed` envelopes, opened and checked there, whose signed ``body`` is the wire form of a
:data:`Command` or a :class:`CommandAnswer`.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Generic, Self, TypeAlias, TypeVar

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
JsonObject: TypeAlias = dict[str, JsonValue]


class EventError(ValueError):
    """A wire form that is not an event of the expected channel; ``str()`` says why."""


class _Fields:
    """Typed reads of one wire form's fields, each failure an :class:`EventError`."""

    def __init__(self, kind: str, data: Mapping[str, JsonValue]) -> None:
        self.kind = kind
        self.data = data

    def _get(self, name: str) -> JsonValue:
        if name not in self.data:
            raise EventError(f"{self.kind}: field {name!r} is missing")
        return self.data[name]

    def _wrong(self, name: str, wanted: str) -> EventError:
        return EventError(f"{self.kind}: field {name!r} is not {wanted}")

    def integer(self, name: str) -> int:
        value = self._get(name)
        if type(value) is not int:
            raise self._wrong(name, "an integer")
        return value

    def optional_integer(self, name: str) -> int | None:
        return None if self.data.get(name) is None else self.integer(name)

    def number(self, name: str) -> float:
        value = self._get(name)
        if type(value) is not int and type(value) is not float:
            raise self._wrong(name, "a number")
        try:
            number = float(value)
        except OverflowError:
            raise self._wrong(name, "a finite number") from None
        if not math.isfinite(number):
            raise self._wrong(name, "a finite number")
        return number

    def flag(self, name: str) -> bool:
        value = self._get(name)
        if type(value) is not bool:
            raise self._wrong(name, "true or false")
        return value

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise self._wrong(name, "a string")
        return value

    def optional_text(self, name: str) -> str | None:
        return None if self.data.get(name) is None else self.text(name)

    def time(self, name: str) -> datetime:
        value = self.text(name)
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise self._wrong(name, "an ISO 8601 time") from None

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._wrong(name, "a list of strings")
        return tuple(item for item in value if isinstance(item, str))


@dataclass(frozen=True, kw_only=True)
class Event:
    """What every event has: its ``type`` name on the wire and the ``version`` of its shape."""

    TYPE: ClassVar[str]
    version: int = field(default=1, init=False)

    def to_fields(self) -> JsonObject:
        """The wire form's fields other than ``type`` and ``version``."""
        raise NotImplementedError

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        raise NotImplementedError

    @classmethod
    def from_wire(cls, data: Mapping[str, JsonValue]) -> Self:
        kind = data.get("type", cls.TYPE)
        if kind != cls.TYPE:
            raise EventError(f"expected {cls.TYPE}, got type {str(kind)[:40]!r}")
        version = data.get("version", 1)
        if version != cls.version or type(version) is not int:
            raise EventError(
                f"{cls.TYPE}: version {str(version)[:12]} is not understood "
                f"(this side knows version {cls.version})"
            )
        return cls.from_fields(_Fields(cls.TYPE, data))


def to_wire(event: Event) -> JsonObject:
    """The JSON object that carries ``event``: ``type``, ``version``, then its fields."""
    if isinstance(event, Sealed):
        return dict(event.envelope)
    return {"type": event.TYPE, "version": event.version, **event.to_fields()}


# -- live events (channel EVENTS) ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MessageStatusChanged(Event):
    """A queued message changed status (``status`` as in the API; ``error`` when it failed)."""

    TYPE = "message.status"
    id: int
    status: str
    error: str | None
    at: datetime

    def to_fields(self) -> JsonObject:
        return {
            "id": self.id,
            "status": self.status,
            "error": self.error,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(
            id=fields.integer("id"),
            status=fields.text("status"),
            error=fields.optional_text("error"),
            at=fields.time("at"),
        )


@dataclass(frozen=True, kw_only=True)
class MessageReceived(Event):
    """An SMS reached the inbox (reassembled); ``sender`` is ``from`` on the wire."""

    TYPE = "message.received"
    id: int
    sender: str
    text: str
    modem: str
    received_at: datetime

    def to_fields(self) -> JsonObject:
        return {
            "id": self.id,
            "from": self.sender,
            "text": self.text,
            "modem": self.modem,
            "received_at": self.received_at.isoformat(),
        }

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(
            id=fields.integer("id"),
            sender=fields.text("from"),
            text=fields.text("text"),
            modem=fields.text("modem"),
            received_at=fields.time("received_at"),
        )


@dataclass(frozen=True, kw_only=True)
class ModemState(Event):
    """A modem's state changed: ``state`` with its ``error`` (None unless it failed), and the
    last health reading (``signal`` in dBm, ``operator``, ``registration``; None before the
    first reading)."""

    TYPE = "modem.state"
    name: str
    state: str
    error: str | None = None
    signal: int | None = None
    operator: str | None = None
    registration: str | None = None

    def to_fields(self) -> JsonObject:
        return {
            "name": self.name,
            "state": self.state,
            "error": self.error,
            "signal": self.signal,
            "operator": self.operator,
            "registration": self.registration,
        }

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(
            name=fields.text("name"),
            state=fields.text("state"),
            error=fields.optional_text("error"),
            signal=fields.optional_integer("signal"),
            operator=fields.optional_text("operator"),
            registration=fields.optional_text("registration"),
        )


@dataclass(frozen=True, kw_only=True)
class ModemRecovery(Event):
    """gatewayd took a step of a modem's recovery ladder (probe, re-init, reset, ...)."""

    TYPE = "modem.recovery"
    name: str
    step: str
    reason: str

    def to_fields(self) -> JsonObject:
        return {"name": self.name, "step": self.step, "reason": self.reason}

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(name=fields.text("name"), step=fields.text("step"), reason=fields.text("reason"))


@dataclass(frozen=True, kw_only=True)
class ModemLowBalance(Event):
    """A SIM's credit, read over USSD, is below the modem's ``low_balance`` threshold."""

    TYPE = "modem.low_balance"
    name: str
    balance: float
    threshold: float

    def to_fields(self) -> JsonObject:
        return {"name": self.name, "balance": self.balance, "threshold": self.threshold}

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(
            name=fields.text("name"),
            balance=fields.number("balance"),
            threshold=fields.number("threshold"),
        )


@dataclass(frozen=True, kw_only=True)
class HostTakenOver(Event):
    """The lease of gatewayd host ``host`` (at ``epoch``) expired and host ``by`` took over its
    work: ``unknown_parts`` parts it may have sent became ``unknown``, ``requeued`` messages it
    had claimed went back to the queue, ``failed_over`` messages bound to its ``modems`` went
    to any modem, ``waiting`` stay bound to them (the ``wait`` policy, or a part already
    left)."""

    TYPE = "host.taken_over"
    host: str
    by: str
    epoch: int
    modems: tuple[str, ...]
    unknown_parts: int
    requeued: int
    failed_over: int
    waiting: int

    def to_fields(self) -> JsonObject:
        return {
            "host": self.host,
            "by": self.by,
            "epoch": self.epoch,
            "modems": list(self.modems),
            "unknown_parts": self.unknown_parts,
            "requeued": self.requeued,
            "failed_over": self.failed_over,
            "waiting": self.waiting,
        }

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(
            host=fields.text("host"),
            by=fields.text("by"),
            epoch=fields.integer("epoch"),
            modems=fields.texts("modems"),
            unknown_parts=fields.integer("unknown_parts"),
            requeued=fields.integer("requeued"),
            failed_over=fields.integer("failed_over"),
            waiting=fields.integer("waiting"),
        )


@dataclass(frozen=True, kw_only=True)
class HostRejoined(Event):
    """gatewayd host ``host`` found its work taken over (its lease expired while it was cut
    off) and holds its lease again at the new ``epoch``; it never touches what was taken."""

    TYPE = "host.rejoined"
    host: str
    epoch: int

    def to_fields(self) -> JsonObject:
        return {"host": self.host, "epoch": self.epoch}

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(host=fields.text("host"), epoch=fields.integer("epoch"))


@dataclass(frozen=True, kw_only=True)
class MessagesQueued(Event):
    """Messages were queued (``count`` of them, ids ``first_id`` to ``last_id``): lists that
    show the queue add them without waiting for their first status change."""

    TYPE = "messages.queued"

    first_id: int
    last_id: int
    count: int

    def to_fields(self) -> JsonObject:
        return {"first_id": self.first_id, "last_id": self.last_id, "count": self.count}

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(
            first_id=fields.integer("first_id"),
            last_id=fields.integer("last_id"),
            count=fields.integer("count"),
        )


@dataclass(frozen=True, kw_only=True)
class AlertChanged(Event):
    """An alert was raised (``active``) or cleared: ``kind`` (``modem_offline``,
    ``message_failed``, ``low_credit``, ``queue_stuck``, ``disk_full``) and ``subject`` (a
    modem, ``host:path``, ``queue``) name it; pages refresh their alert banner."""

    TYPE = "alert.changed"
    kind: str
    subject: str
    active: bool

    def to_fields(self) -> JsonObject:
        return {"kind": self.kind, "subject": self.subject, "active": self.active}

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(
            kind=fields.text("kind"), subject=fields.text("subject"), active=fields.flag("active")
        )


LiveEvent = (
    MessageStatusChanged
    | MessageReceived
    | ModemState
    | ModemRecovery
    | ModemLowBalance
    | HostTakenOver
    | HostRejoined
    | MessagesQueued
    | AlertChanged
)
LIVE_TYPES: tuple[type[LiveEvent], ...] = (
    MessageStatusChanged,
    MessageReceived,
    ModemState,
    MessagesQueued,
    AlertChanged,
)
"""The live events browsers get on ``GET /events``; the others stay between processes."""


# -- wake-ups (channel WAKE) ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class WakeUp(Event):
    """New work for gatewayd: ``count`` messages queued, some of which must go through the
    ``modems`` named; without a count every worker looks at the queue."""

    TYPE = "wake"
    reason: str
    count: int | None = None
    modems: tuple[str, ...] = ()

    @classmethod
    def queued(cls, count: int, modems: Iterable[str | None] = ()) -> WakeUp:
        """The wake-up for ``count`` newly queued messages, naming the modems some of them
        must go through: gatewayd then wakes that many idle modems, not all of them."""
        return cls(reason="queued", count=count, modems=tuple(sorted({m for m in modems if m})))

    def to_fields(self) -> JsonObject:
        return {"reason": self.reason, "count": self.count, "modems": list(self.modems)}

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        count = fields.optional_integer("count")
        if count is not None and count < 0:
            raise EventError("wake: field 'count' is negative")
        return cls(reason=fields.text("reason"), count=count, modems=fields.texts("modems"))


# -- access announcements (channel ACCESS) -------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SessionsEnded(Event):
    """Sessions of ``user_id`` ended (sign-out, new password or role, disabled, locked)."""

    TYPE = "sessions.ended"
    user_id: int

    def to_fields(self) -> JsonObject:
        return {"user_id": self.user_id}

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(user_id=fields.integer("user_id"))


@dataclass(frozen=True, kw_only=True)
class KeyRevoked(Event):
    """API key ``key_id`` was revoked."""

    TYPE = "api_key.revoked"
    key_id: int

    def to_fields(self) -> JsonObject:
        return {"key_id": self.key_id}

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(key_id=fields.integer("key_id"))


@dataclass(frozen=True, kw_only=True)
class AccountChanged(Event):
    """Client account ``account_id`` was changed or revoked: caches of it are stale, and
    SMPP sessions bound to it re-check it."""

    TYPE = "account.changed"
    account_id: int

    def to_fields(self) -> JsonObject:
        return {"account_id": self.account_id}

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(account_id=fields.integer("account_id"))


AccessEvent = SessionsEnded | KeyRevoked | AccountChanged


# -- operator commands and answers (channel COMMANDS, reply channels) ----------------------

REPLY_PREFIX = "smsgw:reply:"
"""Prefix of the one-off channel each command names for its answer."""


def _reply_to(fields: _Fields) -> str:
    reply_to = fields.text("reply_to")
    if not reply_to.startswith(REPLY_PREFIX):
        raise EventError(f"{fields.kind}: field 'reply_to' is not a reply channel")
    return reply_to


@dataclass(frozen=True, kw_only=True)
class UssdCommand(Event):
    """Dial USSD ``code`` on ``modem`` and answer with the network's reply."""

    TYPE = "ussd"
    modem: str
    code: str
    reply_to: str

    def to_fields(self) -> JsonObject:
        return {"modem": self.modem, "code": self.code, "reply_to": self.reply_to}

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(modem=fields.text("modem"), code=fields.text("code"), reply_to=_reply_to(fields))


@dataclass(frozen=True, kw_only=True)
class RestartCommand(Event):
    """End ``modem``'s session and start a new one at once."""

    TYPE = "modem.restart"
    modem: str
    reply_to: str

    def to_fields(self) -> JsonObject:
        return {"modem": self.modem, "reply_to": self.reply_to}

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(modem=fields.text("modem"), reply_to=_reply_to(fields))


Command = UssdCommand | RestartCommand


@dataclass(frozen=True, kw_only=True)
class CommandAnswer(Event):
    """gatewayd's answer to the command whose envelope nonce is ``in_reply_to``: ``text`` when
    ``ok``, else ``error``."""

    TYPE = "command.answer"
    in_reply_to: str
    ok: bool
    text: str | None = None
    error: str | None = None

    def to_fields(self) -> JsonObject:
        return {
            "in_reply_to": self.in_reply_to,
            "ok": self.ok,
            "text": self.text,
            "error": self.error,
        }

    @classmethod
    def from_fields(cls, fields: _Fields) -> Self:
        return cls(
            in_reply_to=fields.text("in_reply_to"),
            ok=fields.flag("ok"),
            text=fields.optional_text("text"),
            error=fields.optional_text("error"),
        )


@dataclass(frozen=True, kw_only=True)
class Sealed(Event):
    """A signed envelope as it travels (``v``, ``issued_ms``, ``nonce``, ``body``, ``sig``).
    Any JSON object is taken here: :func:`gatewayd.commands.open_envelope` checks it, so that
    a forged or malformed one is refused and logged there; ``v`` is its version."""

    TYPE = "sealed"
    envelope: JsonObject

    @classmethod
    def from_wire(cls, data: Mapping[str, JsonValue]) -> Self:
        return cls(envelope=dict(data))


# -- channels ------------------------------------------------------------------------------

E = TypeVar("E", bound=Event)


class Kinds(Generic[E]):
    """The event types one channel (or one envelope body) may carry, and their parser."""

    def __init__(self, *types: type[E]) -> None:
        self.types = {kind.TYPE: kind for kind in types}

    def parse(self, data: object) -> E:
        """The typed event ``data`` (a decoded wire form) carries; else :class:`EventError`."""
        if not isinstance(data, dict):
            raise EventError(f"not a JSON object but {type(data).__name__}")
        if len(self.types) == 1:
            (only,) = self.types.values()
            return only.from_wire(data)
        kind = data.get("type")
        found = self.types.get(kind) if isinstance(kind, str) else None
        if found is None:
            raise EventError(f"unknown event type {str(kind)[:40]!r}")
        return found.from_wire(data)


@dataclass(frozen=True)
class Channel(Generic[E]):
    """A bus channel: its name and the event types that travel on it."""

    name: str
    kinds: Kinds[E]

    def parse(self, data: object) -> E:
        return self.kinds.parse(data)


LIVE_KINDS = Kinds[LiveEvent](
    MessageStatusChanged,
    MessageReceived,
    ModemState,
    ModemRecovery,
    ModemLowBalance,
    HostTakenOver,
    HostRejoined,
    MessagesQueued,
    AlertChanged,
)
COMMAND_KINDS = Kinds[Command](UssdCommand, RestartCommand)
ANSWER_KINDS = Kinds[CommandAnswer](CommandAnswer)

EVENTS = Channel("smsgw:events", LIVE_KINDS)
"""Live events: gatewayd tells of messages and modems, the web UI of cancelled messages."""
WAKE = Channel("smsgw:wake", Kinds[WakeUp](WakeUp))
"""New work is queued: gatewayd's workers claim now instead of at their next poll."""
ACCESS = Channel("smsgw:access", Kinds[AccessEvent](SessionsEnded, KeyRevoked, AccountChanged))
"""Access ended or changed: every web process re-checks the sessions, key or account named."""
COMMANDS = Channel("smsgw:commands", Kinds[Sealed](Sealed))
"""Sealed operator commands (:data:`Command`) for gatewayd."""


def reply_channel(name: str) -> Channel[Sealed]:
    """The channel a command names for its sealed :class:`CommandAnswer`."""
    if not name.startswith(REPLY_PREFIX):
        raise EventError(f"{name[:40]!r} is not a reply channel")
    return Channel(name, Kinds[Sealed](Sealed))


def new_reply_channel() -> Channel[Sealed]:
    """A reply channel of one's own (one per web process)."""
    return reply_channel(f"{REPLY_PREFIX}{uuid.uuid4().hex}")
