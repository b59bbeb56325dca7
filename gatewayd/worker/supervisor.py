"""One supervised task per modem: connect, initialise, send, receive, watch health, recover.

A :class:`ModemWorker` runs sessions until gatewayd stops. A session opens the device,
initialises the modem, records its identity, sweeps its stored messages, then runs three loops
side by side: sending (claims from the queue), health polling, and a periodic storage sweep.
Incoming PDUs arrive through the driver's callbacks. Any modem failure ends the session; the
recovery ladder (:mod:`gatewayd.worker.recovery`: probe, re-init, ``AT+CFUN=1,1``, USB reset,
quarantine) decides when the next one starts, and a modem bound by IMEI/ICCID that answers as
another or has vanished is looked for on the other ports (:mod:`gatewayd.worker.stable_identity`).
SIM care (balance checks, memory kept from filling) runs beside the session. The send loop
is never cancelled mid-message: a session ends only between messages, so a part answered by
the modem is always recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.config import ModemSettings, Settings
from gatewayd.events import LiveEvent, ModemState
from gatewayd.modem import errors as modem_errors
from gatewayd.modem.errors import ModemError
from gatewayd.modem.factory import open_driver
from gatewayd.modem.identity import ModemHealth
from gatewayd.modem.interface import IncomingKind, IncomingPdu, ModemDriver
from gatewayd.modem.usb_reset import UsbResetter
from gatewayd.queue import ClaimedRow, Claimer, StatusChange, claim_due
from gatewayd.queue.lease import LeaseLost, LeaseRef
from gatewayd.queue.modem_state import register_modem, save_health, save_identity, set_state
from gatewayd.queue.reports import ReportRecorder
from gatewayd.store import Database, DatabaseUnavailable, utc_now
from gatewayd.worker.fence import Fence
from gatewayd.worker.incoming import IncomingHandler, status_event
from gatewayd.worker.pipeline import (
    ModemLink,
    ModemNeedsAttention,
    QueueLink,
    RecordProgress,
    SendPipeline,
    SendPolicy,
)
from gatewayd.worker.recorder import ModemSide, SendRecorder
from gatewayd.worker.recovery import RecoveryLadder, RecoveryOutcome, RecoveryPolicy, Step
from gatewayd.worker.sim_care import SimCare
from gatewayd.worker.stable_identity import (
    WrongModem,
    check_identity,
    identity_bound,
    port_missing,
    relocate,
)

log = structlog.get_logger(__name__)

REGISTERED = frozenset({"home", "roaming"})
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
SWEEP_INTERVAL = 300.0
HOLD_TIMEOUT = 5.0
REPORT_WAIT = 5.0
"""Longest a status report waits for the part in flight to be recorded as sent."""

PublishEvent = Callable[[LiveEvent], Awaitable[None]]


@dataclass
class WorkerContext:
    settings: Settings
    db: Database
    host: str
    publish: PublishEvent
    stopping: asyncio.Event
    health_interval: float = 30.0
    recovery: RecoveryPolicy = field(default_factory=RecoveryPolicy)
    care_interval: float = 300.0
    recorder: SendRecorder | None = None
    """The send pipelines' shared transactions (group commit); one per pipeline when None."""
    reports: ReportRecorder | None = None
    """Status reports' shared transactions; one per report when None."""
    fence: Fence = field(default_factory=Fence.unfenced)
    """This host's lease: the modem is written only while it is valid (see
    :mod:`gatewayd.worker.fence`)."""


@dataclass
class SendWindow:
    """Per-minute and per-day send limits of one modem (counted in parts)."""

    per_minute: int | None
    per_day: int | None
    sent_today: int = 0
    today: str = ""
    recent: deque[float] = field(default_factory=deque)

    def record(self) -> None:
        if self.per_minute is not None:  # kept only to enforce the limit: unbounded otherwise
            self.recent.append(time.monotonic())
        self.sent_today += 1

    def wait_needed(self, now: datetime) -> float:
        """Seconds until this modem may send again; 0 when it may now."""
        day = now.date().isoformat()
        if day != self.today:
            self.today, self.sent_today = day, 0 if self.today else self.sent_today
        if self.per_day is not None and self.sent_today >= self.per_day:
            tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
            return (tomorrow - now).total_seconds()
        if self.per_minute is None:
            return 0.0
        horizon = time.monotonic() - 60.0
        while self.recent and self.recent[0] <= horizon:
            self.recent.popleft()
        if len(self.recent) < self.per_minute:
            return 0.0
        return self.recent[0] - horizon


class ModemWorker:
    def __init__(self, config: ModemSettings, context: WorkerContext) -> None:
        self.config = config
        self.name = config.name
        self.context = context
        self.wake = asyncio.Event()
        self.in_flight: set[int] = set()
        self.idle = False
        """True from a claim that found nothing until the next claim starts."""
        self.state = "offline"
        self.imsi: str | None = None
        self.own_number: str | None = None
        self.registration = "unknown"
        self.health: ModemHealth | None = None
        """The last health reading, told with every state change."""
        self.modem: ModemDriver | None = None
        self.device = config.device
        self.recovery = RecoveryLadder(
            self.name,
            # stored indications only: a direct +CMT reaching a driver with no callbacks is lost
            factory=lambda: open_driver(config, device=self.device, prefer_direct=False),
            device=lambda: self.device,
            publish=context.publish,
            usb_reset=UsbResetter().reset,
            policy=context.recovery,
        )
        self.care = SimCare(config, db=context.db, publish=context.publish)
        self.window = SendWindow(config.per_minute, config.per_day)
        self._failures = 0
        self._restart_requested = asyncio.Event()
        self.sends = RecordProgress()
        self._log = log.bind(modem=self.name)

    # -- supervision -----------------------------------------------------------------------

    async def run(self) -> None:
        stopping = self.context.stopping
        while not stopping.is_set():
            started = time.monotonic()
            recovery_delay: float | None = None
            try:
                await self._session()
                self._failures = 0
                self.recovery.succeeded()
            except (ModemError, ModemNeedsAttention, OSError) as error:
                self._failures += 1
                self._log.warning("Modem session ended", error=str(error), failures=self._failures)
                await self._record_state("error", error=str(error))
                if not stopping.is_set():
                    recovery_delay = await self._recover(error)
            except DatabaseUnavailable as error:
                self._failures += 1
                self._log.warning("Database unavailable", error=str(error))
            if stopping.is_set():
                break
            if time.monotonic() - started > 120:
                self._failures = min(self._failures, 1)
                self.recovery.succeeded()
            delay = RECONNECT_DELAYS[min(self._failures, len(RECONNECT_DELAYS) - 1)]
            if recovery_delay is not None:
                delay = recovery_delay
            if self._restart_requested.is_set():
                self._restart_requested.clear()
                delay = 0.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
        await self._record_state("offline")

    def request_restart(self) -> None:
        self._restart_requested.set()
        self.wake.set()

    async def _recover(self, error: BaseException) -> float:
        """Find the modem again or climb the recovery ladder; seconds until the next session."""
        if isinstance(error, WrongModem) or (
            identity_bound(self.config) and port_missing(self.device)
        ):
            found = await relocate(self.config, self.device)
            if found is not None:
                self.device = found
                return 0.0
            if isinstance(error, WrongModem):
                return RECONNECT_DELAYS[-1]
        outcome: RecoveryOutcome = await self.recovery.recover(str(error))
        if outcome.step is Step.QUARANTINE:
            await self._record_state("quarantined", error=str(error))
        return RECONNECT_DELAYS[0] if outcome.recovered else outcome.retry_after

    async def _session(self) -> None:
        config = self.config
        modem = open_driver(config, device=self.device, prefer_direct=False)
        over = asyncio.Event()
        modem.on_disconnect(lambda _error: over.set())
        await self._register("initialising")
        await modem.open()
        tasks: list[asyncio.Task[None]] = []
        try:
            await modem.initialise()
            identity = await modem.identity()
            check_identity(config, identity, self.device)
            self.imsi = identity.imsi
            self.own_number = await modem.own_number()
            async with self.context.db.begin() as conn:
                await save_identity(conn, self.name, identity, now=utc_now())
            await self._poll_health(modem)
            handler = IncomingHandler(
                db=self.context.db,
                modem=self.name,
                imsi=lambda: self.imsi,
                publish=self.context.publish,
                delete=lambda index, storage: modem.delete_message(index, storage),
                reports=self.context.reports,
            )
            modem.on_message(handler.handle)
            modem.on_status_report(lambda incoming: self._handle_report(handler, incoming))
            self.modem = modem
            self._log.info(
                "Modem online",
                imei=identity.imei,
                imsi=identity.imsi,
                registration=self.registration,
            )
            await self._sweep(modem, handler)
            failed: list[BaseException] = []

            def end_session(task: asyncio.Task[None]) -> None:
                if not task.cancelled() and task.exception() is not None:
                    failed.append(task.exception())  # type: ignore[arg-type]
                over.set()

            care = self.care.run(
                modem, over, lambda: self._sweep(modem, handler), self.context.care_interval
            )
            for loop in (
                self._health_loop(modem, over),
                self._sweep_loop(modem, handler, over),
                care,
            ):
                task = asyncio.create_task(loop)
                task.add_done_callback(end_session)
                tasks.append(task)
            await self._send_loop(modem, over)
            if failed:
                raise failed[0]
            if modem.is_open is False:
                raise modem_errors.ModemDisconnected(f"{self.name}: device closed")
        finally:
            self.modem = None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if modem.is_open:
                with contextlib.suppress(ModemError, TimeoutError):
                    await asyncio.wait_for(modem.hold_incoming(), HOLD_TIMEOUT)
            await modem.close()

    # -- sending ---------------------------------------------------------------------------

    async def _send_loop(self, modem: ModemDriver, over: asyncio.Event) -> None:
        context = self.context
        config = self.config

        def may_claim() -> bool:
            return (
                not over.is_set()
                and not context.stopping.is_set()
                and context.fence.is_open()
                and not self._restart_requested.is_set()
                and self.registration in REGISTERED
                and self.window.wait_needed(utc_now()) <= 0
            )

        async def claim_next(
            conn: AsyncConnection, now: datetime, lease: LeaseRef | None
        ) -> list[ClaimedRow]:
            return await claim_due(
                conn,
                host=context.host,
                modem=self.name,
                prefixes=config.prefixes,
                own_number=self.own_number,
                now=now,
                lease=lease,
            )

        pipeline = SendPipeline(
            side=ModemSide(
                modem=self.name,
                imsi=self.imsi,
                may_claim=may_claim,
                claim_next=claim_next,
                claimer=None
                if config.prefixes
                else Claimer(context.host, self.name, self.own_number),
            ),
            link=ModemLink(
                send_pdu=modem.send_pdu,
                send_pdu_next=modem.send_pdu_next,
                reports_kept=modem.settings is None or modem.settings.reports != "direct",
            ),
            queue=QueueLink(
                db=context.db,
                in_flight=self.in_flight,
                progress=self.sends,
                recorder=context.recorder,
                fence=context.fence,
            ),
            policy=SendPolicy(
                retry=context.settings.gateway.retry,
                prepare_ahead=context.settings.gateway.prepare_ahead,
                on_part_written=self.window.record,
            ),
            publish=self._publish_change,
        )
        poll = context.settings.gateway.poll_interval
        found_work = True
        try:
            while not over.is_set() and not context.stopping.is_set():
                if self._restart_requested.is_set():
                    return
                if not found_work:
                    await self._wait(poll, over)
                    if over.is_set() or context.stopping.is_set():
                        return
                self.wake.clear()
                if self.registration not in REGISTERED:
                    found_work = False
                    continue
                if not context.fence.is_open():
                    await self._wait_for_lease(over)
                    found_work = True
                    continue
                pause = self.window.wait_needed(utc_now())
                if pause > 0:
                    await self._wait(min(pause, poll), over)
                    continue
                self.idle = False
                try:
                    found_work = await pipeline.run()
                    self.idle = not found_work
                except LeaseLost as error:
                    if context.fence.epoch == pipeline.epoch:
                        self._log.error(
                            "Lease lost: this host's modems wait until it holds its lease again",
                            error=str(error),
                        )
                    context.fence.lost(pipeline.epoch)
                    self.in_flight.clear()
                    found_work = False
                except DatabaseUnavailable as error:
                    self._log.warning("Queue unreachable", error=str(error))
                    # A part prepared before the outage is the housekeeping sweep's now.
                    self.in_flight.clear()
                    found_work = False
        finally:
            self.idle = False
            # Whatever this session left prepared is the housekeeping sweep's to settle now.
            self.in_flight.clear()
            await self.sends.forget_unsettled()

    async def _wait_for_lease(self, over: asyncio.Event) -> None:
        """Until this host holds its lease again (or the session or gatewayd ends)."""
        waits = [
            asyncio.ensure_future(
                self.context.fence.wait_granted(self.context.settings.gateway.poll_interval)
            ),
            asyncio.ensure_future(over.wait()),
            asyncio.ensure_future(self.context.stopping.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    async def _handle_report(self, handler: IncomingHandler, incoming: IncomingPdu) -> None:
        """Reports wait for the parts written before they arrived to be recorded (see
        :class:`~gatewayd.worker.pipeline.RecordProgress`)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.sends.wait_settled(self.sends.written), REPORT_WAIT)
        await handler.handle(incoming)

    async def _wait(self, timeout: float, over: asyncio.Event) -> None:
        waits = [
            asyncio.ensure_future(self.wake.wait()),
            asyncio.ensure_future(over.wait()),
            asyncio.ensure_future(self.context.stopping.wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    async def _publish_change(self, change: StatusChange) -> None:
        await self.context.publish(status_event(change))

    # -- health ----------------------------------------------------------------------------

    async def _health_loop(self, modem: ModemDriver, over: asyncio.Event) -> None:
        while not over.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(over.wait(), self.context.health_interval)
                return
            await self._poll_health(modem)

    async def _poll_health(self, modem: ModemDriver) -> None:
        health = await modem.health()
        if health.registration.state not in REGISTERED:
            # A SIM that restarted (power dip, reseated) asks for its PIN again and keeps the
            # modem off the network until it has it; an idle modem sends nothing that would
            # fail and reinitialise it, so the PIN is entered here (a missing or wrong one is
            # a SimError, as at start-up).
            await modem.prepare()
        self.health = health
        was_registered = self.registration in REGISTERED
        self.registration = health.registration.state
        state = "online" if self.registration in REGISTERED else "no_network"
        try:
            async with self.context.db.begin() as conn:
                await save_health(conn, self.name, health, state=state, now=utc_now())
        except DatabaseUnavailable as error:
            self._log.warning("Cannot record modem health", error=str(error))
        if state != self.state:
            self.state = state
            await self.context.publish(self._state_event())
        if not was_registered and self.registration in REGISTERED:
            self.wake.set()

    # -- stored messages -------------------------------------------------------------------

    async def _sweep_loop(
        self, modem: ModemDriver, handler: IncomingHandler, over: asyncio.Event
    ) -> None:
        while not over.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(over.wait(), SWEEP_INTERVAL)
                return
            await self._sweep(modem, handler)

    async def _sweep(self, modem: ModemDriver, handler: IncomingHandler) -> None:
        """Read every message and report the modem holds (left over from before we started,
        or from a time the database was away), store them, then delete them."""
        storages = modem.settings.storages if modem.settings else None
        names: list[str | None] = [storages.read] if storages else [None]
        # SM is where a modem puts SMS before anyone chose its storage (after a power cycle).
        for extra in ("SM", "SR") if storages is not None else ():
            if extra not in names:
                names.append(extra)
        for storage in names:
            try:
                stored = await modem.list_messages(storage)
            except modem_errors.AtCommandError as error:
                self._log.info("Storage not listable", storage=storage, error=str(error))
                continue
            for item in stored:
                if item.status == 2 or item.status == 3:
                    continue  # our own outgoing copies
                kind: IncomingKind = "report" if item.storage == "SR" else "message"
                try:
                    await handler.handle(IncomingPdu(kind, item.pdu, item.storage, item.index))
                except DatabaseUnavailable as error:
                    self._log.warning("Stored message kept on the modem", error=str(error))
                    return

    # -- state -----------------------------------------------------------------------------

    async def _register(self, state: str) -> None:
        now = utc_now()
        async with self.context.db.begin() as conn:
            self.window.sent_today = await register_modem(
                conn,
                name=self.name,
                host=self.context.host,
                device=self.device,
                state=state,
                now=now,
            )
        self.window.today = now.date().isoformat()
        self.state = state
        await self.context.publish(self._state_event())

    async def record_state(self) -> None:
        """Write this modem's current state again (another host marked it offline when it
        took this host's work over)."""
        await self._record_state(self.state)

    async def _record_state(self, state: str, *, error: str | None = None) -> None:
        self.state = state
        try:
            async with self.context.db.begin() as conn:
                await set_state(conn, self.name, state, now=utc_now(), error=error)
        except DatabaseUnavailable:
            pass
        with contextlib.suppress(Exception):
            await self.context.publish(self._state_event(error))

    def _state_event(self, error: str | None = None) -> ModemState:
        health = self.health
        return ModemState(
            name=self.name,
            state=self.state,
            error=error,
            signal=health.signal.dbm if health else None,
            operator=health.operator if health else None,
            registration=health.registration.state if health else None,
        )

    # -- operator commands -----------------------------------------------------------------

    async def ussd(self, code: str) -> str:
        modem = self.modem
        if modem is None:
            raise ModemError(f"{self.name} is {self.state}, not online")
        reply = await modem.ussd(code)
        return reply.text or ""
