"""The driver interface: `ModemDriver`, what every modem driver offers the gateway core, and the
types it speaks in (`IncomingPdu`, `SessionSettings`, `QueuedSend`). The gateway core is typed
against this module only; `gatewayd.modem.factory.open_driver` picks the driver.

The AT driver (`gatewayd.modem.at_driver.AtModem`) speaks AT itself over asyncio; the gammu driver
(`gatewayd.modem.gammu_driver.GammuModem`) hands each call to Gammu on a thread of its own.
Both take and return hex PDUs, so decoding stays in the core.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from gatewayd.modem.errors import ModemDisconnected, NotFollowed, SendGuard
from gatewayd.modem.identity import ModemHealth, ModemIdentity
from gatewayd.modem.maintenance import StorageUsage
from gatewayd.modem.negotiation import Indication, Storages
from gatewayd.modem.storage import StoredMessage
from gatewayd.modem.ussd import USSD_TIMEOUT, UssdReply

IncomingKind = Literal["message", "report"]


@dataclass(frozen=True)
class IncomingPdu:
    """An incoming SMS-DELIVER (`kind="message"`) or SMS-STATUS-REPORT (`kind="report"`).

    `storage`/`index` say where it is kept (delete it once stored safely); both are None for a
    direct delivery (`+CMT` / `+CDS`), which the modem no longer holds.
    """

    kind: IncomingKind
    pdu: str
    storage: str | None = None
    index: int | None = None

    @property
    def direct(self) -> bool:
        return self.storage is None


@dataclass(frozen=True)
class SessionSettings:
    """What `initialise()` chose."""

    indication: Indication | None
    storages: Storages | None
    ack_required: bool

    @property
    def messages(self) -> str:
        return self.indication.messages if self.indication else "poll"

    @property
    def reports(self) -> str:
        return self.indication.reports if self.indication else "poll"


IncomingCallback = Callable[[IncomingPdu], Awaitable[None] | None]


@dataclass
class QueuedSend:
    """A send queued behind the one in flight (:meth:`AtModem.send_pdu_next`)."""

    started: asyncio.Future[Any]
    """Done once its AT+CMGS is written; raises ``NotFollowed`` when it never will be."""
    answer: asyncio.Future[int]
    """The message reference; raises ``NotFollowed`` when it was not started."""

    def __post_init__(self) -> None:
        self.started.add_done_callback(_retrieved)
        self.answer.add_done_callback(_retrieved)

    @property
    def began(self) -> bool:
        started = self.started
        return started.done() and not started.cancelled() and started.exception() is None


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Not following is an answer, not an error to report when nobody awaits it."""
    if not future.cancelled() and isinstance(future.exception(), NotFollowed):
        return


@runtime_checkable
class ModemDriver(Protocol):
    """One modem as the gateway core sees it. Every failure is a `ModemError`."""

    name: str
    device: str
    settings: SessionSettings | None
    """What `initialise()` chose; `storages` None means the driver lists all memories at once."""

    @property
    def is_open(self) -> bool: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def initialise(self) -> SessionSettings:
        """Bring the modem to a known state (SIM PIN included) and set up incoming messages."""
        ...

    async def prepare(self) -> None:
        """Make the modem answer queries, SIM unlocked, without changing how messages arrive."""
        ...

    async def probe(self) -> None:
        """A cheap liveness check: returns when the modem answers, raises `ModemError` if not."""
        ...

    async def restart(self) -> None:
        """Reset the modem (`AT+CFUN=1,1`); it must be opened and initialised again after."""
        ...

    async def identity(self) -> ModemIdentity: ...

    async def health(self) -> ModemHealth: ...

    async def own_number(self) -> str | None: ...

    async def hold_incoming(self) -> None:
        """Stop pushing new messages and reports: the modem keeps them for the next sweep.

        Called before a clean close, so what arrives while gatewayd is away is not pushed to
        nobody (a direct ``+CDS`` is gone once sent)."""
        ...

    async def storage_usage(self) -> list[StorageUsage]: ...

    async def send_pdu(
        self,
        pdu_hex: str,
        tpdu_length: int,
        *,
        on_written: Callable[[], None] | None = None,
        guard: SendGuard | None = None,
    ) -> int:
        """Send one SMS-SUBMIT PDU (with its SMSC field); returns the message reference.
        ``on_written`` is called once the PDU is handed to the modem, before its answer.
        ``guard`` is asked right before anything of the send is written; when it says no,
        nothing of the PDU is written and :class:`~gatewayd.modem.errors.SendFenced` is
        raised."""
        ...

    def send_pdu_next(
        self,
        pdu_hex: str,
        tpdu_length: int,
        *,
        on_written: Callable[[], None] | None = None,
        guard: SendGuard | None = None,
    ) -> QueuedSend | None:
        """:meth:`send_pdu`, started the moment the send in flight is answered with success,
        with no delay; None when the driver cannot, or no send is in flight. Its futures
        raise :class:`~gatewayd.modem.errors.NotFollowed` when it was not started (nothing
        sent)."""
        ...

    async def list_messages(self, storage: str | None = None) -> list[StoredMessage]: ...

    async def read_message(
        self, index: int, storage: str | None = None
    ) -> StoredMessage | None: ...

    async def delete_message(self, index: int, storage: str | None = None) -> None: ...

    async def ussd(
        self, code: str, *, timeout: float = USSD_TIMEOUT, keep_session: bool = False
    ) -> UssdReply: ...

    def on_message(self, callback: IncomingCallback) -> Callable[[], None]: ...

    def on_status_report(self, callback: IncomingCallback) -> Callable[[], None]: ...

    def on_disconnect(
        self, callback: Callable[[ModemDisconnected], None]
    ) -> Callable[[], None]: ...
