"""The gateway daemon: its modem workers, lease, wake-ups, operator commands and housekeeping.

:class:`Gateway` owns one :class:`~gatewayd.worker.supervisor.ModemWorker` per configured modem. It
takes this host's lease (:mod:`gatewayd.service.lease`) and, under it, settles what an earlier
crash of this host left in flight; keeps the lease renewed, and takes over the work of other
hosts whose lease expired; listens on the bus for wake-ups (new work) and operator commands
(USSD, restart: obeyed only when sealed with the installation's key, see
:mod:`gatewayd.commands`), and every few seconds sweeps: claims this host abandoned, parts
whose delivery report is overdue, multipart messages whose last parts never came. The bus is
only a hint: without it, workers poll the queue. With no enabled modem it runs idle: it says
so (a warning, systemd's status line, its lease row) and sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.bus import Bus, Subscription
from gatewayd.commands import (
    RefusalLog,
    Refused,
    ReplayGuard,
    command_key,
    open_envelope,
    seal_event,
)
from gatewayd.config import ModemSettings, Settings
from gatewayd.events import (
    COMMAND_KINDS,
    COMMANDS,
    EVENTS,
    REPLY_PREFIX,
    WAKE,
    Command,
    CommandAnswer,
    EventError,
    HostRejoined,
    HostTakenOver,
    LiveEvent,
    Sealed,
    UssdCommand,
    WakeUp,
    reply_channel,
)
from gatewayd.metrics import (
    TAKEOVER_MESSAGES_REQUEUED,
    TAKEOVER_PARTS_UNKNOWN,
    TAKEOVERS,
    observe_group_commit,
)
from gatewayd.modem.errors import ModemError
from gatewayd.queue import Recovery, StatusChange, recover_after_crash
from gatewayd.queue.inbox import flush_stale_fragments
from gatewayd.queue.lease import instance_name
from gatewayd.queue.recurring import run_due
from gatewayd.queue.reports import ReportRecorder, expire_overdue
from gatewayd.queue.takeover import Takeover
from gatewayd.service import heartbeat
from gatewayd.service.lease import LeaseKeeper
from gatewayd.service.lifecycle_log import log_event
from gatewayd.service.systemd import Notifier
from gatewayd.service.wakeup import LocalWakeupListener
from gatewayd.store import Database, DatabaseUnavailable, utc_now
from gatewayd.worker.fence import Fence
from gatewayd.worker.incoming import received_event, status_event
from gatewayd.worker.recorder import SendRecorder
from gatewayd.worker.supervisor import ModemWorker, WorkerContext

log = structlog.get_logger(__name__)

HOUSEKEEPING_INTERVAL = 15.0
CLAIM_GRACE = timedelta(seconds=2 * HOUSEKEEPING_INTERVAL)
UPKEEP_INTERVAL = 180.0
QUEUE_TABLES = "messages, message_parts, message_events"
"""A claim younger than this may belong to a worker that claimed after the sweep listed the
messages in flight: it is not taken for abandoned yet."""
IDLE_WARNING = "No enabled modem: gatewayd runs idle and sends nothing"
IDLE_HINT = "enable a [[modem]] in the settings file, or try it with `gatewayd run --simulate 2`"


def resident_kb() -> int | None:
    """This process's resident memory (Linux), for the periodic stats line; None elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


class Gateway:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        bus: Bus,
        *,
        modems: tuple[ModemSettings, ...] | None = None,
        notifier: Notifier | None = None,
        health_interval: float = 30.0,
    ) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.host = settings.gateway.host
        self.notifier = notifier or Notifier({})
        self.stopping = asyncio.Event()
        self.fence = Fence(self.host)
        self.send_recorder = SendRecorder(db, observe=observe_group_commit, fence=self.fence)
        self.report_recorder = ReportRecorder(db, observe=observe_group_commit)
        context = WorkerContext(
            settings=settings,
            db=db,
            host=self.host,
            publish=self.publish,
            stopping=self.stopping,
            health_interval=health_interval,
            recorder=self.send_recorder,
            reports=self.report_recorder,
            fence=self.fence,
        )
        chosen = settings.enabled_modems if modems is None else modems
        self.workers = {m.name: ModemWorker(m, context) for m in chosen}
        self.lease = LeaseKeeper(
            host=self.host,
            instance=instance_name(settings.gateway.data_dir),
            modems=list(self.workers),
            settings=settings.gateway.lease,
            db=db,
            fence=self.fence,
            stopping=self.stopping,
            on_takeover=self._took_over,
            on_rejoin=self._rejoined,
            on_failover=self._failed_over,
        )
        self._command_tasks: set[asyncio.Task[None]] = set()
        secret = settings.web.secret_key
        self._command_key = command_key(secret) if secret else None
        self._replays = ReplayGuard()
        self._refusals = RefusalLog()
        self._wake_turn = 0
        self.heartbeat_path = heartbeat.heartbeat_path(settings.gateway.data_dir)

    async def publish(self, event: LiveEvent) -> None:
        log_event(event)
        await self.bus.publish(EVENTS, event)

    def wake_all(self) -> None:
        for worker in self.workers.values():
            worker.wake.set()

    def wake_for(self, count: int, modems: list[str]) -> None:
        """Wake enough idle workers for ``count`` new messages, not all of them: every idle
        worker claiming at once for one message is a burst of empty claims. Idle general
        workers are taken in turn, so the work spreads. Workers limited to some prefixes, and
        the modems named in ``modems``, are always woken (a general worker cannot take their
        messages). So are busy workers, which costs nothing: they claim again when they finish
        anyway, and one that has just found the queue empty must not miss this message."""
        general: list[ModemWorker] = []
        for worker in self.workers.values():
            if worker.idle and not worker.config.prefixes and worker.name not in modems:
                general.append(worker)
            else:
                worker.wake.set()
        if not general:
            return
        start = self._wake_turn % len(general)
        self._wake_turn += 1
        for worker in (general[start:] + general[:start])[:count]:
            worker.wake.set()

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Run until :meth:`stop`; in-flight sends finish before this returns. Raises
        :class:`~gatewayd.service.lease.HostNameInUse` when another installation keeps the
        lease of this host name."""
        await self._recover()
        if self.stopping.is_set():
            return
        wake_subscription = self.bus.subscribe(WAKE)
        command_subscription = self.bus.subscribe(COMMANDS)
        background = [
            asyncio.create_task(self.lease.run(), name="lease"),
            asyncio.create_task(self._listen_wake(wake_subscription), name="wake-listener"),
            asyncio.create_task(self._listen_commands(command_subscription), name="commands"),
            asyncio.create_task(self._housekeeping(), name="housekeeping"),
            asyncio.create_task(self._watchdog(), name="watchdog"),
        ]
        workers = [
            asyncio.create_task(worker.run(), name=f"modem-{name}")
            for name, worker in self.workers.items()
        ]
        local_wakeups = LocalWakeupListener(self.settings.gateway.data_dir, self.wake_all)
        try:
            local_wakeups.start()
        except OSError as error:
            log.warning("Local wake-up socket unavailable", error=str(error))
        log.info(
            "gatewayd started", host=self.host, modems=list(self.workers), epoch=self.fence.epoch
        )
        if self._command_key is None:
            log.warning(
                "Operator commands refused: no secret key",
                hint="give gatewayd the web UI's SMSGW_SECRET_KEY",
            )
        if self.workers:
            self.notifier.ready(f"{len(workers)} modems")
        else:
            log.warning(IDLE_WARNING, hint=IDLE_HINT)
            self.notifier.ready("idle: no enabled modem, nothing is sent")
        if on_ready is not None:
            on_ready()
        try:
            await self.stopping.wait()
            self.notifier.stopping()
            log.info("gatewayd stopping: letting in-flight sends finish")
            await asyncio.gather(*workers, return_exceptions=True)
        finally:
            for task in background + workers:
                task.cancel()
            await asyncio.gather(*background, *workers, return_exceptions=True)
            local_wakeups.close()
            heartbeat.clear(self.heartbeat_path)
            self.bus.unsubscribe(wake_subscription)
            self.bus.unsubscribe(command_subscription)
            await self.lease.release()
        log.info("gatewayd stopped")

    def stop(self) -> None:
        self.stopping.set()
        self.wake_all()

    async def _recover(self) -> None:
        """Take the lease at a new epoch and, in the same transaction, settle what this host's
        previous run left in flight."""

        async def settle(conn: AsyncConnection) -> Recovery:
            return await recover_after_crash(conn, host=self.host, now=utc_now())

        recovery = await self.lease.start(settle)
        if recovery is None:
            return
        if recovery.unknown_parts or recovery.requeued_messages:
            log.warning(
                "Recovered after an unclean stop",
                unknown_parts=recovery.unknown_parts,
                requeued_messages=recovery.requeued_messages,
                unknown_message_ids=list(recovery.unknown_message_ids),
            )

    async def _listen_wake(self, subscription: Subscription[WakeUp]) -> None:
        async for wake in subscription:
            if wake.count is None:
                self.wake_all()
            else:
                self.wake_for(wake.count, list(wake.modems))

    async def _listen_commands(self, subscription: Subscription[Sealed]) -> None:
        async for sealed in subscription:
            envelope = sealed.envelope
            try:
                nonce, body = open_envelope(self._command_key, envelope)
            except Refused as refusal:
                self._refusals.refused(refusal, envelope)
                continue
            worker = self.workers.get(str(body.get("modem")))
            if worker is None:
                continue  # another gatewayd host owns that modem
            try:
                self._replays.check(nonce)
            except Refused as refusal:
                self._refusals.refused(refusal, envelope)
                continue
            try:
                command = COMMAND_KINDS.parse(body)
            except EventError as error:
                await self._not_understood(nonce, body.get("reply_to"), error)
                continue
            task = asyncio.create_task(self._run_command(worker, nonce, command))
            self._command_tasks.add(task)
            task.add_done_callback(self._command_tasks.discard)

    async def _not_understood(self, nonce: str, reply_to: object, error: EventError) -> None:
        """A genuine command this gatewayd does not know (a newer web UI's): its sender hears
        so rather than waiting for a timeout."""
        log.warning("Operator command not understood", reason=str(error))
        if isinstance(reply_to, str) and reply_to.startswith(REPLY_PREFIX):
            answer = CommandAnswer(in_reply_to=nonce, ok=False, error=f"not understood: {error}")
            await self._answer(reply_to, answer)

    async def _run_command(self, worker: ModemWorker, nonce: str, command: Command) -> None:
        try:
            if isinstance(command, UssdCommand):
                text = await worker.ussd(command.code)
            else:
                worker.request_restart()
                text = f"{worker.name} restarting"
            answer = CommandAnswer(in_reply_to=nonce, ok=True, text=text)
        except ModemError as error:
            answer = CommandAnswer(in_reply_to=nonce, ok=False, error=str(error))
        await self._answer(command.reply_to, answer)

    async def _answer(self, reply_to: str, answer: CommandAnswer) -> None:
        if self._command_key is not None:
            await self.bus.publish(reply_channel(reply_to), seal_event(self._command_key, answer))

    async def _housekeeping(self) -> None:
        reassembly = timedelta(seconds=self.settings.gateway.reassembly_timeout)
        upkeep = await self._needs_own_vacuum()
        last_upkeep = time.monotonic()
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), HOUSEKEEPING_INTERVAL)
                return
            log.info("gatewayd stats", tasks=len(asyncio.all_tasks()), rss_kb=resident_kb())
            try:
                await self.sweep(reassembly)
                if upkeep and time.monotonic() - last_upkeep >= UPKEEP_INTERVAL:
                    last_upkeep = time.monotonic()
                    await self.db.run_outside_transaction(f"VACUUM (ANALYZE) {QUEUE_TABLES}")
            except DatabaseUnavailable as error:
                log.warning("Housekeeping skipped: database unavailable", error=str(error))

    async def _needs_own_vacuum(self) -> bool:
        """True when PostgreSQL's autovacuum is off: without it the queue tables' statistics
        stay those of an empty table and their dead rows pile up, so every claim and report
        look-up reads the whole table (seen in a soak: requests 20 times slower after 30
        minutes). gatewayd then vacuums and analyzes those tables itself."""
        try:
            autovacuum = await self.db.setting("autovacuum")
        except DatabaseUnavailable:
            return False
        if autovacuum != "off":
            return False
        log.warning(
            "PostgreSQL autovacuum is off: gatewayd vacuums and analyzes its queue tables itself",
            every_seconds=UPKEEP_INTERVAL,
            tables=QUEUE_TABLES,
        )
        return True

    async def sweep(self, reassembly: timedelta) -> None:
        in_flight = {i for w in self.workers.values() for i in w.in_flight}
        now = utc_now()
        async with self.db.begin() as conn:
            await self.fence.guard(conn, self.fence.epoch)
            recovery = await recover_after_crash(
                conn,
                host=self.host,
                now=now,
                in_flight=in_flight,
                claimed_before=now - CLAIM_GRACE,
            )
            expired = await expire_overdue(conn, now=now)
            received = await flush_stale_fragments(conn, older_than=reassembly, now=now)
            recurring = await run_due(conn, now=now, region=self.settings.gateway.default_region)
        if any(run.queued for run in recurring):
            log.info("Recurring sends queued", runs=len(recurring))
            self.wake_all()
        if recovery.requeued_messages:
            log.warning("Requeued abandoned claims", count=recovery.requeued_messages)
            self.wake_all()
        for change in expired:
            await self.publish(status_event(change))
        for message in received:
            await self.publish(received_event(message))

    async def _took_over(self, takeover: Takeover) -> None:
        """After the commit of a takeover: tell the operator (log, metrics, events) and put
        this host's modems to the messages given back."""
        log.warning(
            "Took over the work of a host whose lease expired",
            host=takeover.host,
            epoch=takeover.epoch,
            modems=list(takeover.modems),
            unknown_parts=takeover.unknown_parts,
            unknown_message_ids=list(takeover.unknown_message_ids[:50]),
            requeued_messages=takeover.requeued_messages,
            failed_over=len(takeover.failed_over),
            waiting_for_its_modems=takeover.waiting,
        )
        TAKEOVERS.labels(takeover.host).inc()
        TAKEOVER_PARTS_UNKNOWN.inc(takeover.unknown_parts)
        TAKEOVER_MESSAGES_REQUEUED.inc(takeover.requeued_messages)
        self.wake_all()
        await self.publish(
            HostTakenOver(
                host=takeover.host,
                by=takeover.by,
                epoch=takeover.epoch,
                modems=takeover.modems,
                unknown_parts=takeover.unknown_parts,
                requeued=takeover.requeued_messages,
                failed_over=len(takeover.failed_over),
                waiting=takeover.waiting,
            )
        )
        for change in takeover.changes:
            await self.publish(status_event(change))
        for message_id in takeover.failed_over:
            await self.publish(status_event(StatusChange(message_id, "queued")))

    async def _failed_over(self, message_ids: list[int]) -> None:
        log.warning(
            "Messages bound to a modem of a host taken over go to any modem",
            count=len(message_ids),
            message_ids=message_ids[:50],
        )
        self.wake_all()
        for message_id in message_ids:
            await self.publish(status_event(StatusChange(message_id, "queued")))

    async def _rejoined(self, epoch: int) -> None:
        """Back with a new epoch after a takeover: the modems' rows say so again."""
        for worker in self.workers.values():
            await worker.record_state()
        self.wake_all()
        await self.publish(HostRejoined(host=self.host, epoch=epoch))

    async def _watchdog(self) -> None:
        """Pet systemd's watchdog (when it has one) and touch the heartbeat file that
        ``gatewayd health`` reads: both stop when the event loop is stuck."""
        interval = self.notifier.watchdog_interval or heartbeat.BEAT_INTERVAL
        warned = False
        while True:
            self.notifier.watchdog()
            try:
                heartbeat.beat(self.heartbeat_path)
            except OSError as error:
                if not warned:
                    log.warning("Cannot write the heartbeat file", error=str(error))
                    warned = True
            await asyncio.sleep(interval)
