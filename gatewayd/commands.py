"""Operator commands for gatewayd (USSD, modem restart) and their answers: the signed envelope
they travel in on the bus, built and checked here for both sides.

Anyone who can publish on Redis could otherwise restart modems or dial USSD codes (which can
move credit or change a SIM's services). So every command goes out sealed: a key derived from
the installation's secret key (:mod:`gatewayd.config.secret_key`) signs, with HMAC-SHA256, a
canonical JSON encoding of the envelope version, the time of issue, a random nonce and the
body. gatewayd refuses unsigned, badly signed, stale (issued more than :data:`MAX_AGE` seconds
from its own clock) and replayed envelopes (:class:`ReplayGuard`), and logs each refusal
(:class:`RefusalLog`). Answers are sealed the same way and name the nonce of the command they
answer, so a forged answer is ignored as well.

The bodies are the wire forms of the typed commands and answers of :mod:`gatewayd.events`
(:data:`~gatewayd.events.Command`, :class:`~gatewayd.events.CommandAnswer`), which also names
the channels; :func:`seal_event` and :func:`open_sealed` go between those and
:class:`~gatewayd.events.Sealed` envelopes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import structlog

from gatewayd.events import Event, JsonObject, Kinds, Sealed, to_wire

log = structlog.get_logger(__name__)

E = TypeVar("E", bound=Event)

ENVELOPE_VERSION = 1
MAX_AGE = 30.0
"""Seconds an envelope stays valid either side of the receiver's clock (hosts run NTP)."""
SIGNATURE_FIELDS = frozenset({"v", "issued_ms", "nonce", "body", "sig"})

Body = JsonObject


class Refused(Exception):
    """An envelope that must not be acted on; ``reason`` is one of ``unsigned``,
    ``bad_signature``, ``stale``, ``replayed``, ``no_key``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def command_key(secret_key: str) -> bytes:
    """The signing key for commands, apart from the session cookie's key."""
    return hashlib.sha256(b"smsgw-commands\0" + secret_key.encode()).digest()


def _canonical(version: int, issued_ms: int, nonce: str, body: Body) -> bytes:
    return json.dumps(
        [version, issued_ms, nonce, body],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    ).encode()


def _signature(key: bytes, version: int, issued_ms: int, nonce: str, body: Body) -> str:
    return hmac.new(key, _canonical(version, issued_ms, nonce, body), hashlib.sha256).hexdigest()


def seal(key: bytes, body: Body, *, now: float | None = None) -> JsonObject:
    """``body`` in a signed envelope, issued now with a fresh nonce."""
    issued_ms = int((time.time() if now is None else now) * 1000)
    nonce = secrets.token_hex(16)
    return {
        "v": ENVELOPE_VERSION,
        "issued_ms": issued_ms,
        "nonce": nonce,
        "body": body,
        "sig": _signature(key, ENVELOPE_VERSION, issued_ms, nonce, body),
    }


def open_envelope(
    key: bytes | None, envelope: object, *, now: float | None = None, max_age: float = MAX_AGE
) -> tuple[str, Body]:
    """``(nonce, body)`` of a genuine, fresh envelope; else raise :class:`Refused`."""
    if key is None:
        raise Refused("no_key")
    if not isinstance(envelope, dict) or set(envelope) != SIGNATURE_FIELDS:
        raise Refused("unsigned")
    version, issued_ms = envelope["v"], envelope["issued_ms"]
    nonce, body, signature = envelope["nonce"], envelope["body"], envelope["sig"]
    if (
        version != ENVELOPE_VERSION
        or type(issued_ms) is not int
        or not isinstance(nonce, str)
        or not isinstance(body, dict)
        or not isinstance(signature, str)
    ):
        raise Refused("unsigned")
    try:
        expected = _signature(key, version, issued_ms, nonce, body)
    except (TypeError, ValueError):  # a body JSON cannot encode canonically
        raise Refused("bad_signature") from None
    if not signature.isascii() or not hmac.compare_digest(expected, signature):
        raise Refused("bad_signature")
    current = time.time() if now is None else now
    if abs(current - issued_ms / 1000) > max_age:
        raise Refused("stale")
    return nonce, body


def seal_event(key: bytes, body: Event, *, now: float | None = None) -> Sealed:
    """A command or an answer, sealed for its channel."""
    return Sealed(envelope=seal(key, to_wire(body), now=now))


def open_sealed(key: bytes | None, sealed: Sealed, kinds: Kinds[E]) -> tuple[str, E]:
    """``(nonce, typed body)`` of a genuine, fresh envelope; :class:`Refused` when it is not
    one, :class:`~gatewayd.events.EventError` when its genuine body is not of ``kinds``."""
    nonce, body = open_envelope(key, sealed.envelope)
    return nonce, kinds.parse(body)


class ReplayGuard:
    """Nonces of the envelopes accepted within the last ``max_age`` seconds: a second copy
    of an accepted envelope is refused. Only genuine envelopes are remembered, so the memory
    is bounded by the real command rate."""

    def __init__(self, max_age: float = MAX_AGE, clock: Callable[[], float] = time.time) -> None:
        self.max_age = max_age
        self._clock = clock
        self._seen: dict[str, float] = {}

    def check(self, nonce: str) -> None:
        now = self._clock()
        for old in [n for n, expires in self._seen.items() if expires < now]:
            del self._seen[old]
        if nonce in self._seen:
            raise Refused("replayed")
        self._seen[nonce] = now + 2 * self.max_age


class WarningLogger(Protocol):
    def warning(self, event: str, **fields: Any) -> Any: ...


class RefusalLog:
    """``"Refused operator command"`` lines, at most ``per_minute`` a minute (a flood on the
    channel must not flood the log); the number left out is told with the next line."""

    def __init__(
        self,
        per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
        logger: WarningLogger | None = None,
    ) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._log: WarningLogger = logger or log
        self._minute_started = clock()
        self._logged = 0
        self._left_out = 0

    def refused(self, refusal: Refused, envelope: object) -> None:
        now = self._clock()
        if now - self._minute_started >= 60:
            self._minute_started, self._logged = now, 0
        if self._logged >= self.per_minute:
            self._left_out += 1
            return
        self._logged += 1
        body = envelope.get("body") if isinstance(envelope, dict) else None
        claimed = body if isinstance(body, dict) else envelope if isinstance(envelope, dict) else {}
        self._log.warning(
            "Refused operator command",
            reason=refusal.reason,
            type=str(claimed.get("type", ""))[:32],
            modem=str(claimed.get("modem", ""))[:32],
            left_out=self._left_out,
        )
        self._left_out = 0
