"""The alert evaluator: every ``interval`` seconds (sooner when a modem changes state or a
message fails) it reads the settings, observes each enabled kind, and takes each alert's step
(:mod:`webui.alerts.decide`).

It runs in every web process that runs the webhook dispatcher (``gatewayd run --web`` and
``webui run``), so alerts work in embedded mode and with several web processes alike. Each
step is one transaction on the alert's ``alert_states`` row: read it, decide, and update it
only ``WHERE version = <the version read>``; of several processes that decide the same step,
one update succeeds and only that one writes the history row, the mail and the webhook
delivery, which commit with it. A raise or clear is then logged (``"Alert raised"``,
``"Alert cleared"``), counted (``smsgw_alerts_raised_total``, ``smsgw_alerts_cleared_total``,
``smsgw_alert_notifications_total`` on this process's registry) and announced on the bus
(``alert.changed``), which live pages use to refresh their banner.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.bus import Bus
from gatewayd.events import EVENTS, AlertChanged, MessageStatusChanged, ModemLowBalance, ModemState
from gatewayd.store import (
    AlertKind,
    Database,
    DatabaseUnavailable,
    alert_history,
    alert_states,
    utc_now,
)
from gatewayd.store.upsert import insert_ignoring_duplicates
from webui.alerts.decide import AlertState, Decision, Step, decide
from webui.alerts.notify import AlertNews, send
from webui.alerts.observe import Observation, Where, observe
from webui.alerts.settings import SETTING_NAME, AlertSettings, KindSettings, stored_settings
from webui.services.preferences import read_setting

log = structlog.get_logger("webui.alerts")

MIN_INTERVAL = 1.0
"""Seconds between two rounds woken by events (a burst of failures makes one round)."""
STOP_GRACE = 15.0


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.raised = Counter(
            "smsgw_alerts_raised_total",
            "Alerts raised by this process (one process raises each)",
            ["kind"],
            registry=registry,
        )
        self.cleared = Counter(
            "smsgw_alerts_cleared_total",
            "Alerts cleared by this process",
            ["kind"],
            registry=registry,
        )
        self.notifications = Counter(
            "smsgw_alert_notifications_total",
            "Alert mails queued and webhook deliveries written by this process",
            ["kind", "channel"],
            registry=registry,
        )


@dataclass(frozen=True)
class Taken:
    """A step this process took."""

    kind: AlertKind
    subject: str
    step: Step
    notified: tuple[str, ...]


def state_of(row: Any) -> AlertState:
    return AlertState(
        active=bool(row.active),
        pending_since=row.pending_since,
        raised_at=row.raised_at,
        notified_at=row.notified_at,
    )


async def load_settings(conn: AsyncConnection) -> AlertSettings:
    return stored_settings(await read_setting(conn, SETTING_NAME))


class AlertRunner:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        where: Where,
        *,
        mail_enabled: bool,
        interval: float = 15.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.where = where
        self.mail_enabled = mail_enabled
        self.interval = interval
        self.metrics = AlertMetrics(registry)
        self.wake = asyncio.Event()
        self.stopping = False

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()

    async def run(self) -> None:
        last = -float("inf")
        while not self.stopping:
            calm = last + MIN_INTERVAL - time.monotonic()
            if calm > 0:
                await asyncio.sleep(calm)  # pacing between rounds, not waiting for an event
            last = time.monotonic()
            try:
                await self.round()
            except DatabaseUnavailable as exc:
                log.warning("Alerts waiting for the database", reason=str(exc))
            except Exception:
                log.exception("Alert round failed")
            if self.stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.interval)
            self.wake.clear()

    async def round(self, now: datetime | None = None) -> list[Taken]:
        """Observe every kind and take the steps due; the steps this process took."""
        now = now or utc_now()
        async with self.db.read() as conn:
            settings = await load_settings(conn)
        taken: list[Taken] = []
        for kind in AlertKind:
            taken += await self._kind(kind, settings, now)
        return taken

    async def _kind(self, kind: AlertKind, settings: AlertSettings, now: datetime) -> list[Taken]:
        setting = settings.kinds[kind]
        async with self.db.read() as conn:
            if setting.enabled:
                observed = await observe(conn, kind, setting, now, self.where)
                holding = {o.subject: o for o in observed.holding}
                covers = observed.covers
            else:
                holding, covers = {}, lambda subject: True
            rows = await conn.execute(
                select(alert_states.c.subject).where(
                    alert_states.c.kind == kind.value,
                    (alert_states.c.active.is_(True)) | (alert_states.c.pending_since.is_not(None)),
                )
            )
            known = {row.subject for row in rows if covers(row.subject)}
        taken: list[Taken] = []
        for subject in sorted(set(holding) | known):
            step = await self._step(kind, subject, holding.get(subject), setting, settings, now)
            if step is not None:
                taken.append(step)
        return taken

    async def _step(
        self,
        kind: AlertKind,
        subject: str,
        seen: Observation | None,
        setting: KindSettings,
        settings: AlertSettings,
        now: datetime,
    ) -> Taken | None:
        hold = float(setting.threshold or 0) if kind is AlertKind.MODEM_OFFLINE else 0.0
        async with self.db.begin() as conn:
            row = await self._row(conn, kind, subject, create=seen is not None)
            if row is None:
                return None
            decision = decide(
                state_of(row), seen is not None, hold=hold, quiet=setting.quiet, now=now
            )
            if decision.step is Step.NONE:
                return None
            if not await self._take(conn, row, decision, seen, now):
                return None  # another process took this step
            if decision.step in (Step.PENDING, Step.FORGET):
                return Taken(kind, subject, decision.step, ())
            text = seen.text if seen is not None else row.text
            detail = seen.detail if seen is not None else (row.detail or {})
            news = AlertNews(
                kind,
                subject,
                decision.step,
                text,
                detail,
                now,
                now if decision.step is Step.RAISE else row.raised_at,
            )
            notified: list[str] = []
            if decision.notify:
                notified = await send(
                    conn, news, setting.channels, settings, mail_enabled=self.mail_enabled
                )
            await conn.execute(
                insert(alert_history).values(
                    kind=kind.value,
                    subject=subject,
                    event=decision.step.value,
                    at=now,
                    text=text,
                    detail=detail,
                    notified=notified,
                )
            )
        await self._announce(news, notified)
        return Taken(kind, subject, decision.step, tuple(notified))

    async def _row(
        self, conn: AsyncConnection, kind: AlertKind, subject: str, *, create: bool
    ) -> Any:
        where = (alert_states.c.kind == kind.value) & (alert_states.c.subject == subject)
        row = (await conn.execute(select(alert_states).where(where))).first()
        if row is None and create:
            await insert_ignoring_duplicates(
                conn,
                alert_states,
                {"kind": kind.value, "subject": subject, "updated_at": utc_now()},
            )
            row = (await conn.execute(select(alert_states).where(where))).first()
        return row

    async def _take(
        self,
        conn: AsyncConnection,
        row: Any,
        decision: Decision,
        seen: Observation | None,
        now: datetime,
    ) -> bool:
        """The compare-and-set of the step on the alert's row; False when another process
        changed the row since it was read."""
        values: dict[str, Any] = {"version": row.version + 1, "updated_at": now}
        step = decision.step
        if step is Step.PENDING:
            values["pending_since"] = now
        elif step is Step.FORGET:
            values["pending_since"] = None
        elif step is Step.RAISE:
            values |= {"active": True, "raised_at": now, "cleared_at": None}
        elif step is Step.CLEAR:
            values |= {"active": False, "cleared_at": now, "pending_since": None}
        if seen is not None:
            values |= {"text": seen.text, "detail": seen.detail}
        if decision.notify and step in (Step.RAISE, Step.REPEAT):
            values["notified_at"] = now
        result = await conn.execute(
            update(alert_states)
            .where(alert_states.c.id == row.id, alert_states.c.version == row.version)
            .values(**values)
        )
        return result.rowcount == 1

    async def _announce(self, news: AlertNews, notified: list[str]) -> None:
        kind = news.kind.value
        for channel in notified:
            self.metrics.notifications.labels(kind=kind, channel=channel).inc()
        if news.step is Step.RAISE:
            self.metrics.raised.labels(kind=kind).inc()
            log.warning(
                "Alert raised", kind=kind, subject=news.subject, text=news.text, notified=notified
            )
        elif news.step is Step.CLEAR:
            self.metrics.cleared.labels(kind=kind).inc()
            log.info("Alert cleared", kind=kind, subject=news.subject, notified=notified)
        else:
            log.info("Alert repeated", kind=kind, subject=news.subject, notified=notified)
            return
        with contextlib.suppress(Exception):  # the bus is a hint; the banner also polls
            await self.bus.publish(
                EVENTS,
                AlertChanged(kind=kind, subject=news.subject, active=news.step is Step.RAISE),
            )


async def _wake_on_events(bus: Bus, runner: AlertRunner) -> None:
    subscription = bus.subscribe(EVENTS)
    try:
        async for event in subscription:
            if isinstance(event, ModemState | ModemLowBalance) or (
                isinstance(event, MessageStatusChanged) and event.status == "failed"
            ):
                runner.wake.set()
    finally:
        bus.unsubscribe(subscription)


@contextlib.asynccontextmanager
async def running_alerts(runner: AlertRunner) -> AsyncIterator[AlertRunner]:
    """The evaluator, running until the block ends (it finishes the round in hand first)."""
    task = asyncio.create_task(runner.run(), name="alerts")
    waker = asyncio.create_task(_wake_on_events(runner.bus, runner), name="alerts-wake")
    try:
        yield runner
    finally:
        runner.stop()
        waker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waker
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
