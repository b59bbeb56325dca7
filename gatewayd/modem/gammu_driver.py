"""`GammuModem`: the `driver = "gammu"` modem driver, through python-gammu (libGammu's own AT,
OBEX and phone engines), with the same interface as `AtModem` (`gatewayd.modem.interface`).

Every Gammu call runs on the modem's own thread (`GammuThread`) with a real timeout; a call that
overruns leaves the state machine suspect and the next `initialise()` builds a new one. Incoming
messages and status reports are polled from the modem's memories (`GetNextSMS`, converted to
PDUs by `gammu_convert`) and handed to the same callbacks as the AT driver's stored path; the
callbacks delete what they stored. Gammu's incoming-event callback wakes the poll early and
carries USSD answers (`DialService`, then `ReadDevice` until the answer comes).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from gatewayd.modem.errors import (
    AtTimeout,
    ErrorAction,
    ModemDisconnected,
    ModemError,
    SendFenced,
    SendGuard,
    SendOutcomeUnknown,
    SimError,
)
from gatewayd.modem.gammu_calls import (
    is_report,
    new_state_machine,
    quietly,
    read_all,
    read_identity,
    read_own_number,
    read_until,
    stored_message,
    terminate,
)
from gatewayd.modem.gammu_convert import (
    USSD_STATUS,
    GammuDict,
    convert_error,
    error_name,
    health_from_gammu,
    submit_to_gammu,
)
from gatewayd.modem.gammu_thread import GammuThread, Machine
from gatewayd.modem.identity import ModemHealth, ModemIdentity
from gatewayd.modem.interface import (
    IncomingCallback,
    IncomingKind,
    IncomingPdu,
    QueuedSend,
    SessionSettings,
)
from gatewayd.modem.maintenance import StorageUsage
from gatewayd.modem.storage import StoredMessage
from gatewayd.modem.ussd import USSD_TIMEOUT, UssdError, UssdReply

log = logging.getLogger(__name__)

T = TypeVar("T")
INIT_TIMEOUT = 90.0
CALL_TIMEOUT = 30.0
SEND_TIMEOUT = 120.0
CLOSE_TIMEOUT = 10.0
POLL_INTERVAL = 5.0
_USSD_CODE_RE = re.compile(r"^[0-9*#+]{1,182}$")


class GammuModem:
    """See the module docstring. `connection`/`model` pass straight to Gammu's configuration
    (`"at115200"`, or `"none"` with model `"dummy"` and a folder as device for Gammu's dummy)."""

    def __init__(
        self,
        device: str,
        *,
        name: str | None = None,
        baudrate: int = 115200,
        pin: str | None = None,
        connection: str | None = None,
        model: str = "",
        poll_interval: float = POLL_INTERVAL,
        call_timeout: float = CALL_TIMEOUT,
        init_timeout: float = INIT_TIMEOUT,
        send_timeout: float = SEND_TIMEOUT,
        debug_file: Path | None = None,
        machine_factory: Callable[[], Machine] | None = None,
    ) -> None:
        self.device = device
        self.name = name or device
        self.connection = connection or f"at{baudrate}"
        self.model = model
        self.settings: SessionSettings | None = None
        self.poll_interval = poll_interval
        self.call_timeout = call_timeout
        self.init_timeout = init_timeout
        self.send_timeout = send_timeout
        self._pin = pin
        self._debug_file = debug_file
        self._machine_factory = machine_factory
        self._thread: GammuThread | None = None
        self._message_callbacks: list[IncomingCallback] = []
        self._report_callbacks: list[IncomingCallback] = []
        self._disconnect_callbacks: list[Callable[[ModemDisconnected], None]] = []
        self._disconnected: ModemDisconnected | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._poll_now = asyncio.Event()
        self._delivering: set[int] = set()
        self._ussd_lock = asyncio.Lock()
        self._ussd_answer: asyncio.Future[GammuDict] | None = None
        self._ussd_arrived = threading.Event()

    # -- life cycle ------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._thread is not None and self._disconnected is None

    async def open(self) -> None:
        """Connect (Gammu's `Init`): opens the device and identifies the phone."""
        self._disconnected = None
        factory = self._machine_factory or new_state_machine
        thread = GammuThread(self.name, factory())
        config = {
            "Device": self.device,
            "Connection": self.connection,
            "Model": self.model,
            "StartInfo": False,
            "UseGlobalDebugFile": False,
            "DebugFile": str(self._debug_file) if self._debug_file else "",
            "DebugLevel": "textalldate" if self._debug_file else "",
        }

        def start(machine: Machine) -> None:
            machine.SetConfig(0, config)
            machine.Init()

        try:
            await thread.call("Init", start, timeout=self.init_timeout)
        except ModemError:
            thread.close()
            raise
        except Exception as error:
            thread.close()
            raise convert_error(self.name, error) from error
        self._thread = thread
        log.info("%s: gammu connected to %s (%s)", self.name, self.device, self.connection)

    async def close(self) -> None:
        task, self._poll_task = self._poll_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        thread, self._thread = self._thread, None
        if thread is not None:  # Gammu holds the port exclusively until Terminate is done
            await thread.shutdown(terminate, timeout=CLOSE_TIMEOUT)

    async def __aenter__(self) -> GammuModem:
        await self.open()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def initialise(self) -> SessionSettings:
        """Reconnect when the state machine is suspect, unlock the SIM, listen for events and
        start polling the memories for incoming messages and reports."""
        if self._thread is None or self._thread.suspect is not None:
            await self.close()
            await self.open()
        await self.prepare()
        loop = asyncio.get_running_loop()
        await self._call("SetIncoming", lambda machine: self._listen(machine, loop))
        self.settings = SessionSettings(indication=None, storages=None, ack_required=False)
        if self._poll_task is None or self._poll_task.done():
            self._poll_task = asyncio.create_task(self._poll_loop(), name=f"gammu-poll-{self.name}")
        log.info("%s: initialised through gammu (messages and reports polled)", self.name)
        return self.settings

    async def prepare(self) -> None:
        if self._thread is None:
            await self.open()
        state = await self._call("GetSecurityStatus", lambda m: m.GetSecurityStatus())
        if state is None:
            return
        if state != "PIN":
            raise SimError(f"{self.name}: SIM needs {state}; cannot continue")
        if not self._pin:
            raise SimError(f"{self.name}: SIM PIN required but no PIN is configured")
        pin = self._pin
        try:
            await self._call("EnterSecurityCode", lambda m: m.EnterSecurityCode("PIN", pin))
        except ModemError as error:
            raise SimError(f"{self.name}: PIN rejected ({error})") from error

    def _listen(self, machine: Machine, loop: asyncio.AbstractEventLoop) -> None:
        """Runs on the gammu thread: Gammu calls `event` from inside later calls there."""

        def event(_machine: Machine, kind: str, data: GammuDict) -> None:
            if kind == "USSD":
                self._ussd_arrived.set()
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._on_event, kind, data)

        machine.SetIncomingCallback(event)
        for enable in (machine.SetIncomingUSSD, machine.SetIncomingSMS):
            try:
                enable()
            except Exception as error:  # many phones lack one or the other: polling covers it
                log.debug("%s: %s: %s", self.name, enable.__name__, error_name(error))

    def _on_event(self, kind: str, data: GammuDict) -> None:
        if kind == "USSD":
            waiter = self._ussd_answer
            if waiter is not None and not waiter.done():
                waiter.set_result(data)
            else:
                log.info("%s: unsolicited USSD %s", self.name, data.get("Text"))
        elif kind == "SMS":
            self._poll_now.set()

    # -- calls -----------------------------------------------------------------------------

    async def _call(
        self,
        what: str,
        fn: Callable[[Machine], T],
        *,
        timeout: float | None = None,
        sending: bool = False,
    ) -> T:
        thread = self._thread
        if thread is None:
            raise ModemDisconnected(f"{self.name}: gammu connection is not open")
        try:
            return await thread.call(what, fn, timeout=timeout or self.call_timeout)
        except ModemError:
            raise
        except Exception as error:
            converted = convert_error(self.name, error, sending=sending)
            if isinstance(converted, ModemDisconnected):
                self._lost(converted)
            raise converted from error

    def _lost(self, error: ModemDisconnected) -> None:
        if self._disconnected is not None:
            return
        self._disconnected = error
        for callback in list(self._disconnect_callbacks):
            try:
                callback(error)
            except Exception:
                log.exception("%s: disconnect callback failed", self.name)

    # -- queries ---------------------------------------------------------------------------

    async def identity(self) -> ModemIdentity:
        return await self._call("identity", read_identity)

    async def health(self) -> ModemHealth:
        def read(machine: Machine) -> tuple[GammuDict, GammuDict | None]:
            return machine.GetSignalQuality(), quietly(lambda: machine.GetNetworkInfo())

        signal, network = await self._call("health", read)
        return health_from_gammu(signal, network or {})

    async def probe(self) -> None:
        await self._call("probe", lambda m: m.GetSignalQuality(), timeout=5.0)

    async def own_number(self) -> str | None:
        return await self._call("own number", read_own_number)

    async def hold_incoming(self) -> None:
        """Nothing to do: this driver polls the modem's memories, which keep everything."""

    async def restart(self) -> None:
        """Gammu's soft reset (`AT+CFUN=1,1` on AT phones); the connection is dropped after."""
        try:
            await self._call("Reset", lambda m: m.Reset(False), timeout=15.0)
        finally:
            await self.close()

    async def storage_usage(self) -> list[StorageUsage]:
        status = await self._call("GetSMSStatus", lambda m: m.GetSMSStatus())
        usages = [
            StorageUsage("SM", int(status.get("SIMUsed", 0)), int(status.get("SIMSize", 0))),
            StorageUsage("ME", int(status.get("PhoneUsed", 0)), int(status.get("PhoneSize", 0))),
        ]
        return [usage for usage in usages if usage.total > 0]

    # -- sending ---------------------------------------------------------------------------

    def send_pdu_next(
        self,
        pdu_hex: str,
        tpdu_length: int,
        *,
        on_written: Callable[[], None] | None = None,
        guard: SendGuard | None = None,
    ) -> QueuedSend | None:
        """Not offered: libGammu runs one blocking call at a time."""
        return None

    async def send_pdu(
        self,
        pdu_hex: str,
        tpdu_length: int,
        *,
        on_written: Callable[[], None] | None = None,
        guard: SendGuard | None = None,
    ) -> int:
        try:
            message = submit_to_gammu(pdu_hex)
        except ValueError as error:  # PduError included
            raise ModemError(
                f"{self.name}: not a PDU to send ({error})", action=ErrorAction.FAIL_MESSAGE
            ) from error

        def send(machine: Machine) -> Any:
            # Asked on Gammu's thread, right before the call that writes the PDU (the thread
            # may have been busy with another call until now).
            if guard is not None and not guard():
                raise SendFenced(f"{self.name}: SendSMS not called: its guard refused it")
            return machine.SendSMS(message)

        if on_written is not None:
            on_written()  # Gammu writes and waits in one call: nothing to wait for here
        try:
            reference = await self._call("SendSMS", send, timeout=self.send_timeout, sending=True)
        except AtTimeout as error:
            raise SendOutcomeUnknown(f"{self.name}: sent, no verdict ({error})") from error
        except ModemError as error:
            if "ERR_TIMEOUT" in str(error):
                raise SendOutcomeUnknown(f"{self.name}: sent, no verdict ({error})") from error
            raise
        return int(reference)

    # -- stored messages -------------------------------------------------------------------

    async def list_messages(self, storage: str | None = None) -> list[StoredMessage]:
        parts = await self._call("GetNextSMS", read_all, timeout=max(self.call_timeout, 60.0))
        stored = [stored_message(part) for part in parts]
        return [item for item in stored if storage is None or item.storage == storage]

    async def read_message(self, index: int, storage: str | None = None) -> StoredMessage | None:
        def read(machine: Machine) -> list[GammuDict] | None:
            try:
                return list(machine.GetSMS(0, index))
            except Exception as error:
                if error_name(error) in ("ERR_EMPTY", "ERR_INVALIDLOCATION"):
                    return None
                raise

        parts = await self._call("GetSMS", read)
        return stored_message(parts[0]) if parts else None

    async def delete_message(self, index: int, storage: str | None = None) -> None:
        await self._call("DeleteSMS", lambda m: m.DeleteSMS(0, index))

    # -- USSD ------------------------------------------------------------------------------

    async def ussd(
        self, code: str, *, timeout: float = USSD_TIMEOUT, keep_session: bool = False
    ) -> UssdReply:
        if not _USSD_CODE_RE.match(code):
            raise UssdError(f"not a USSD code: {code!r}")
        async with self._ussd_lock:
            answer: asyncio.Future[GammuDict] = asyncio.get_running_loop().create_future()
            self._ussd_answer = answer
            self._ussd_arrived.clear()
            try:
                await self._call("DialService", lambda m: m.DialService(code))
                if not answer.done():
                    await self._call(
                        "USSD answer",
                        lambda m: read_until(m, self._ussd_arrived, timeout),
                        timeout=timeout + 5.0,
                    )
                if not answer.done():
                    raise AtTimeout(f"{self.name}: no USSD answer to {code} in {timeout:g}s")
                data = answer.result()
            finally:
                self._ussd_answer = None
        status = USSD_STATUS.get(str(data.get("Status")), 2)
        reply = UssdReply(status, data.get("Text"), None)
        if status in (3, 4):
            raise UssdError(f"USSD {code}: {reply.status_name}")
        if status == 5:
            raise UssdError(f"USSD {code}: network timeout", action=ErrorAction.RETRY_LATER)
        return reply

    # -- incoming --------------------------------------------------------------------------

    def on_message(self, callback: IncomingCallback) -> Callable[[], None]:
        self._message_callbacks.append(callback)
        return lambda: _remove(self._message_callbacks, callback)

    def on_status_report(self, callback: IncomingCallback) -> Callable[[], None]:
        self._report_callbacks.append(callback)
        return lambda: _remove(self._report_callbacks, callback)

    def on_disconnect(self, callback: Callable[[ModemDisconnected], None]) -> Callable[[], None]:
        self._disconnect_callbacks.append(callback)
        return lambda: _remove(self._disconnect_callbacks, callback)

    async def _poll_loop(self) -> None:
        while self._thread is not None and self._disconnected is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poll_now.wait(), self.poll_interval)
            self._poll_now.clear()
            try:
                await self.poll_incoming()
            except ModemDisconnected:
                return
            except ModemError as error:
                log.warning("%s: polling for incoming messages failed: %s", self.name, error)
                if self._thread is None or self._thread.suspect is not None:
                    return

    async def poll_incoming(self) -> int:
        """Hand every received message and report in the memories to the callbacks once;
        returns how many were handed over."""
        if not (self._message_callbacks or self._report_callbacks):
            return 0
        await self._call("ReadDevice", lambda m: m.ReadDevice(False), timeout=10.0)
        handed = 0
        for item in await self.list_messages():
            if item.status in (2, 3) or item.index in self._delivering:
                continue
            self._delivering.add(item.index)
            try:
                await self._deliver(item)
                handed += 1
            finally:
                self._delivering.discard(item.index)
        return handed

    async def _deliver(self, item: StoredMessage) -> None:
        kind: IncomingKind = "report" if is_report(item.pdu) else "message"
        incoming = IncomingPdu(kind, item.pdu, item.storage, item.index)
        callbacks = self._report_callbacks if kind == "report" else self._message_callbacks
        for callback in list(callbacks):
            try:
                result = callback(incoming)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("%s: incoming %s callback failed", self.name, kind)


def _remove(callbacks: list[Any], callback: Any) -> None:
    with contextlib.suppress(ValueError):
        callbacks.remove(callback)
