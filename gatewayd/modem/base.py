"""`ModemDriver`: what every modem driver offers the gateway core, and `open_driver`, the factory
that picks the driver a `[[modem]]` table names (`driver = "at"` or `driver = "gammu"`).

The AT driver (`gatewayd.modem.driver.AtModem`) speaks AT itself over asyncio; the gammu driver
(`gatewayd.modem.gammu_driver.GammuModem`) hands each call to Gammu on a thread of its own.
Both take and return hex PDUs, so decoding stays in the core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .driver import AtModem, IncomingCallback, QueuedSend
from .driver import ModemSettings as DriverSettings
from .errors import ModemDisconnected
from .identity import ModemHealth, ModemIdentity
from .maintenance import StorageUsage
from .storage import StoredMessage
from .ussd import USSD_TIMEOUT, UssdReply

if TYPE_CHECKING:
    from gatewayd.config import ModemSettings


@runtime_checkable
class ModemDriver(Protocol):
    """One modem as the gateway core sees it. Every failure is a `ModemError`."""

    name: str
    device: str
    settings: DriverSettings | None
    """What `initialise()` chose; `storages` None means the driver lists all memories at once."""

    @property
    def is_open(self) -> bool: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def initialise(self) -> DriverSettings:
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
        self, pdu_hex: str, tpdu_length: int, *, on_written: Callable[[], None] | None = None
    ) -> int:
        """Send one SMS-SUBMIT PDU (with its SMSC field); returns the message reference.
        ``on_written`` is called once the PDU is handed to the modem, before its answer."""
        ...

    def send_pdu_next(
        self, pdu_hex: str, tpdu_length: int, *, on_written: Callable[[], None] | None = None
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


def open_driver(
    settings: ModemSettings, *, device: str | None = None, prefer_direct: bool = True
) -> ModemDriver:
    """The driver for one `[[modem]]` table, not yet opened: call `open()` then `initialise()`.

    `device` overrides the configured path (a modem found again under another name).
    """
    path = device or settings.device
    if settings.driver == "gammu":
        from .gammu_driver import GammuModem  # loads libGammu only when a modem asks for it

        return GammuModem(path, name=settings.name, baudrate=settings.baudrate, pin=settings.pin)
    return AtModem(
        path,
        name=settings.name,
        baudrate=settings.baudrate,
        pin=settings.pin,
        prefer_direct=prefer_direct,
    )
