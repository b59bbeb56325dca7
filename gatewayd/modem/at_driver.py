"""`AtModem`: the AT driver of one GSM modem, speaking PDU mode over an `AtChannel`.

It owns the modem's life cycle (open, initialise, SIM PIN, close), the settings chosen from what
the modem offers (`+CNMI`, `+CPMS`, `+CSMS`), sending a PDU for its message reference, the stored
messages, USSD, and incoming messages and status reports, both direct (`+CMT` / `+CDS`, with
`AT+CNMA` when the modem needs it) and stored (`+CMTI` / `+CDSI`, read with `AT+CMGR`). Incoming
PDUs reach the layer above through callbacks registered with `on_message` / `on_status_report`.
The driver takes and returns hex PDUs; decoding them is the caller's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gatewayd.modem.channel import AtChannel, Response, Unsolicited
from gatewayd.modem.errors import (
    AtCommandError,
    ErrorAction,
    ModemDisconnected,
    ModemError,
    ModemResponseError,
    SendGuard,
    SendOutcomeUnknown,
    SimError,
)
from gatewayd.modem.identity import (
    ModemHealth,
    ModemIdentity,
    Registration,
    SignalQuality,
    read_health,
    read_identity,
    read_operator,
    read_registration,
    read_signal,
)
from gatewayd.modem.interface import (
    IncomingCallback,
    IncomingKind,
    IncomingPdu,
    QueuedSend,
    SessionSettings,
)
from gatewayd.modem.maintenance import (
    StorageUsage,
    probe,
    read_own_number,
    read_storage_usage,
    restart,
)
from gatewayd.modem.negotiation import (
    FALLBACK_CNMI,
    PREFERRED_STORAGES,
    Indication,
    Storages,
    ack_required,
    choose_indication,
    choose_storages,
)
from gatewayd.modem.storage import MessageStore, StoredMessage
from gatewayd.modem.ussd import USSD_TIMEOUT, UssdReply, request_ussd

log = logging.getLogger(__name__)

_STORED_RE = re.compile(r'^\s*"?([A-Za-z]{2})"?\s*,\s*(\d+)\s*$')
_HEX_RE = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")
CALLBACK_TIMEOUT = 10.0
SIM_READY_POLLS = 10


class AtModem:
    """See the module docstring. Use `async with AtModem(device) as modem:` or open()/close()."""

    def __init__(
        self,
        device: str,
        *,
        name: str | None = None,
        baudrate: int = 115200,
        pin: str | None = None,
        prefer_direct: bool = True,
        storages: tuple[str, ...] = PREFERRED_STORAGES,
        channel: AtChannel | None = None,
    ) -> None:
        self.device = device
        self.name = name or device
        self.baudrate = baudrate
        self._pin = pin
        self._prefer_direct = prefer_direct
        self._preferred_storages = storages
        self.channel = channel or AtChannel(self.name)
        self.store = MessageStore(self.channel)
        self.settings: SessionSettings | None = None
        self._message_callbacks: list[IncomingCallback] = []
        self._report_callbacks: list[IncomingCallback] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._storing: set[asyncio.Future[Any]] = set()
        self._ussd_lock = asyncio.Lock()
        self.channel.add_listener(self._on_unsolicited)

    # -- life cycle ------------------------------------------------------------------------

    async def open(self) -> None:
        await self.channel.open(self.device, baudrate=self.baudrate)
        self.store.forget_selection()

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._storing:  # incoming PDUs already read: let them reach the database
            await asyncio.wait(list(self._storing), timeout=CALLBACK_TIMEOUT)
            for storing in list(self._storing):
                storing.cancel()
        await self.channel.close()

    async def __aenter__(self) -> AtModem:
        await self.open()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def initialise(self) -> SessionSettings:
        """Bring the modem to a known state and choose how incoming messages arrive."""
        channel = self.channel
        await channel.synchronise()
        await channel.command("ATE0")
        await self._optional("AT+CMEE=1")
        await self.unlock_sim()
        try:
            await channel.command("AT+CMGF=0")
        except AtCommandError as error:
            raise ModemError(
                f"{self.name}: PDU mode refused ({error})", action=ErrorAction.TRY_OTHER_MODEM
            ) from error
        csms = await self._optional("AT+CSMS?")
        needs_ack = ack_required(csms.first_value("+CSMS") if csms else None)
        storages = await self._choose_storages()
        indication = await self._choose_indication()
        self.settings = SessionSettings(indication, storages, needs_ack)
        log.info(
            "%s: initialised (messages %s, reports %s, storage %s, ack %s)",
            self.name,
            self.settings.messages,
            self.settings.reports,
            storages.read if storages else "default",
            needs_ack,
        )
        return self.settings

    async def unlock_sim(self) -> None:
        """`AT+CPIN?`; enter the configured PIN when asked. A missing or wrong PIN is fatal."""
        state = await self._sim_state()
        if state == "READY":
            return
        if state != "SIM PIN":
            raise SimError(f"{self.name}: SIM needs {state}; cannot continue")
        if not self._pin:
            raise SimError(f"{self.name}: SIM PIN required but no PIN is configured")
        try:
            await self.channel.command(f'AT+CPIN="{self._pin}"')
        except AtCommandError as error:
            raise SimError(f"{self.name}: PIN rejected ({error.meaning})") from error
        for _ in range(SIM_READY_POLLS):
            state = await self._sim_state()
            if state == "READY":
                return
            if state != "SIM PIN":
                break
        raise SimError(f"{self.name}: SIM not ready after PIN entry ({state})")

    async def _sim_state(self) -> str:
        try:
            response = await self.channel.command("AT+CPIN?")
        except AtCommandError as error:
            if error.action is ErrorAction.TRY_OTHER_MODEM:
                raise SimError(f"{self.name}: {error.meaning}") from error
            raise
        value = response.first_value("+CPIN")
        if value is None:
            raise ModemResponseError(f"{self.name}: no +CPIN answer")
        return value.strip().strip('"').upper()

    async def _choose_storages(self) -> Storages | None:
        offer = await self._optional("AT+CPMS=?")
        value = offer.first_value("+CPMS") if offer else None
        storages = choose_storages(value, self._preferred_storages) if value else None
        if storages is not None:
            try:
                await self.channel.command(storages.command)
            except AtCommandError:
                log.warning("%s: %s refused; keeping the modem's storage", self.name, storages)
                storages = None
        self.store.default_storage = storages.read if storages else None
        self.store.forget_selection()
        return storages

    async def _choose_indication(self) -> Indication | None:
        offer = await self._optional("AT+CNMI=?")
        value = offer.first_value("+CNMI") if offer else None
        chosen = choose_indication(value, prefer_direct=self._prefer_direct) if value else None
        candidates = [chosen] if chosen else []
        candidates += [Indication(values) for values in FALLBACK_CNMI]
        for candidate in candidates:
            if await self._optional(candidate.command) is not None:
                return candidate
        log.warning("%s: no AT+CNMI setting accepted; incoming messages need polling", self.name)
        return None

    async def _optional(self, command: str) -> Response | None:
        try:
            return await self.channel.command(command)
        except AtCommandError:
            return None

    # -- queries ---------------------------------------------------------------------------

    async def identity(self) -> ModemIdentity:
        return await read_identity(self.channel)

    async def signal(self) -> SignalQuality:
        return await read_signal(self.channel)

    async def registration(self) -> Registration:
        return await read_registration(self.channel)

    async def operator(self) -> str | None:
        return await read_operator(self.channel)

    async def health(self) -> ModemHealth:
        return await read_health(self.channel)

    # -- upkeep (see `maintenance`) --------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.channel.is_open

    async def prepare(self) -> None:
        """Make the modem answer queries (SIM unlocked) without choosing how messages arrive."""
        await self.channel.synchronise()
        await self.channel.command("ATE0")
        await self.unlock_sim()

    async def probe(self) -> None:
        await probe(self.channel)

    async def own_number(self) -> str | None:
        return await read_own_number(self.channel)

    async def hold_incoming(self) -> None:
        """`AT+CNMI` with no indications: messages and reports stay stored on the modem."""
        for command in ("AT+CNMI=0,0,0,0,0", "AT+CNMI=2,0,0,0,0", "AT+CNMI=1,0,0,0,0"):
            try:
                await self.channel.command(command)
            except AtCommandError:
                continue
            return

    async def restart(self) -> None:
        await restart(self.channel)

    async def storage_usage(self) -> list[StorageUsage]:
        return await read_storage_usage(self.channel)

    # -- sending ---------------------------------------------------------------------------

    async def send_pdu(
        self,
        pdu_hex: str,
        tpdu_length: int,
        *,
        on_written: Callable[[], None] | None = None,
        guard: SendGuard | None = None,
    ) -> int:
        """Send one SMS-SUBMIT PDU (with its SMSC field) and return the message reference;
        ``on_written`` is called when the PDU has been written after the prompt; ``guard``
        is asked right before the command and the PDU are written (:class:`SendFenced`)."""
        self._check_pdu(pdu_hex, tpdu_length)
        response = await self.channel.command_with_prompt(
            f"AT+CMGS={tpdu_length}", pdu_hex.upper(), on_written=on_written, guard=guard
        )
        return self._reference(response)

    def send_pdu_next(
        self,
        pdu_hex: str,
        tpdu_length: int,
        *,
        on_written: Callable[[], None] | None = None,
        guard: SendGuard | None = None,
    ) -> QueuedSend | None:
        """:meth:`send_pdu` written by the handler of the current send's answer when it is a
        success with a message reference (see :meth:`AtChannel.follow_with_prompt`); None
        when no send is in flight."""
        self._check_pdu(pdu_hex, tpdu_length)
        follow = self.channel.follow_with_prompt(
            f"AT+CMGS={tpdu_length}",
            pdu_hex.upper(),
            on_written=on_written,
            when=_has_reference,
            guard=guard,
        )
        if follow is None:
            return None
        started, answer = follow
        return QueuedSend(started, asyncio.ensure_future(self._reference_of(answer)))

    async def _reference_of(self, answer: Awaitable[Response]) -> int:
        return self._reference(await answer)

    def _check_pdu(self, pdu_hex: str, tpdu_length: int) -> None:
        if not _HEX_RE.match(pdu_hex) or not 1 <= tpdu_length <= len(pdu_hex) // 2:
            raise ModemError(
                f"{self.name}: not a PDU of {tpdu_length} octets", action=ErrorAction.FAIL_MESSAGE
            )

    def _reference(self, response: Response) -> int:
        value = response.first_value("+CMGS") or ""
        reference = _reference_in(value)
        if reference is None:
            raise SendOutcomeUnknown(f"{self.name}: sent, but no message reference in {value!r}")
        return reference

    # -- stored messages -------------------------------------------------------------------

    async def list_messages(self, storage: str | None = None) -> list[StoredMessage]:
        """Every message in `storage` (default: the chosen one), read or not (`AT+CMGL=4`)."""
        return await self.store.list(storage)

    async def read_message(self, index: int, storage: str | None = None) -> StoredMessage | None:
        return await self.store.read(index, storage)

    async def delete_message(self, index: int, storage: str | None = None) -> None:
        await self.store.delete(index, storage)

    # -- USSD ------------------------------------------------------------------------------

    async def ussd(
        self, code: str, *, timeout: float = USSD_TIMEOUT, keep_session: bool = False
    ) -> UssdReply:
        """Send `code`; with `keep_session` a menu answer (status 1) leaves the session open
        for the next choice (`ussd("1", keep_session=...)`)."""
        async with self._ussd_lock:
            return await request_ussd(
                self.channel, code, timeout=timeout, end_session=not keep_session
            )

    # -- incoming --------------------------------------------------------------------------

    def on_message(self, callback: IncomingCallback) -> Callable[[], None]:
        """Call `callback` with every incoming SMS-DELIVER; returns a remover."""
        self._message_callbacks.append(callback)
        return lambda: _remove(self._message_callbacks, callback)

    def on_status_report(self, callback: IncomingCallback) -> Callable[[], None]:
        self._report_callbacks.append(callback)
        return lambda: _remove(self._report_callbacks, callback)

    def on_disconnect(self, callback: Callable[[ModemDisconnected], None]) -> Callable[[], None]:
        return self.channel.add_disconnect_listener(callback)

    def on_unsolicited(self, callback: Callable[[Unsolicited], None]) -> Callable[[], None]:
        """Every unsolicited code, raw (registration changes, RING, ...)."""
        return self.channel.add_listener(callback)

    def _on_unsolicited(self, event: Unsolicited) -> None:
        if event.name in ("+CMT", "+CDS"):
            kind: IncomingKind = "message" if event.name == "+CMT" else "report"
            if event.pdu is None:
                log.warning("%s: %s without its PDU line dropped", self.name, event.name)
                return
            self._spawn(self._deliver_direct(IncomingPdu(kind, event.pdu.upper())))
        elif event.name in ("+CMTI", "+CDSI"):
            match = _STORED_RE.match(event.args)
            if match is None:
                log.warning("%s: unparsable %r", self.name, event.text)
                return
            kind = "message" if event.name == "+CMTI" else "report"
            storage, index = match.group(1).upper(), int(match.group(2))
            self._spawn(self._deliver_stored(kind, storage, index))

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_direct(self, incoming: IncomingPdu) -> None:
        delivered = await self._run_callbacks(incoming, timeout=CALLBACK_TIMEOUT)
        if delivered and self.settings is not None and self.settings.ack_required:
            try:
                await self.channel.command("AT+CNMA")
            except ModemError as error:
                log.warning("%s: AT+CNMA failed: %s", self.name, error)

    async def _deliver_stored(self, kind: IncomingKind, storage: str, index: int) -> None:
        try:
            stored = await self.store.read(index, storage)
        except ModemError as error:
            log.warning("%s: cannot read %s %s/%d: %s", self.name, kind, storage, index, error)
            return
        if stored is None:
            log.warning("%s: %s %s/%d announced but empty", self.name, kind, storage, index)
            return
        await self._run_callbacks(IncomingPdu(kind, stored.pdu, storage, index), timeout=None)

    async def _run_callbacks(self, incoming: IncomingPdu, *, timeout: float | None) -> bool:
        """Run the callbacks; True when all succeeded. Direct deliveries are bounded in time,
        since the modem waits for the acknowledgement."""
        is_message = incoming.kind == "message"
        callbacks = self._message_callbacks if is_message else self._report_callbacks
        delivered = True
        for callback in list(callbacks):
            storing: asyncio.Future[Any] | None = None
            try:
                result = callback(incoming)
                if inspect.isawaitable(result):
                    # Past the deadline only the acknowledgement is given up: a direct
                    # delivery is not kept by the modem, so storing it goes on.
                    storing = asyncio.ensure_future(result)
                    self._storing.add(storing)
                    storing.add_done_callback(self._storing.discard)
                    await asyncio.wait_for(asyncio.shield(storing), timeout)
            except TimeoutError:
                delivered = False
                if storing is not None:
                    storing.add_done_callback(self._late_storing_done)
                log.warning(
                    "%s: incoming %s still being stored after %s s; not acknowledged",
                    self.name,
                    incoming.kind,
                    timeout,
                )
            except Exception:
                delivered = False
                log.exception("%s: incoming %s callback failed", self.name, incoming.kind)
        return delivered

    def _late_storing_done(self, storing: asyncio.Future[Any]) -> None:
        if not storing.cancelled() and storing.exception() is not None:
            log.error("%s: storing an incoming PDU failed", self.name, exc_info=storing.exception())


def _reference_in(value: str) -> int | None:
    reference = value.split(",", 1)[0].strip()
    return int(reference) if reference.isascii() and reference.isdigit() else None


def _has_reference(lines: Sequence[str]) -> bool:
    """True when the answer lines of AT+CMGS carry a message reference."""
    for line in lines:
        if line.upper().startswith("+CMGS:"):
            return _reference_in(line.split(":", 1)[1]) is not None
    return False


def _remove(callbacks: list[IncomingCallback], callback: IncomingCallback) -> None:
    with contextlib.suppress(ValueError):
        callbacks.remove(callback)
