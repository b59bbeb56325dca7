"""The webhook dispatcher: derives deliveries from the database and sends them, with retries.

Runs as one task while :func:`running_dispatcher` lasts (the app's cleanup context). It wakes
on live bus events and otherwise polls. Due deliveries are claimed with ``FOR UPDATE SKIP
LOCKED`` (PostgreSQL) and leased for a minute, so several web processes never send the same
delivery at once; a crash mid-send only means the lease runs out and the delivery is tried
again (receivers dedupe on ``X-Delivery-Id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from yarl import URL

from gatewayd.bus import Bus
from gatewayd.events import EVENTS, MessageReceived, MessageStatusChanged
from gatewayd.store import (
    Database,
    DatabaseUnavailable,
    accounts,
    api_keys,
    utc_now,
    webhook_deliveries,
)
from webui.addresses import GuardedResolver, RefusedAddress
from webui.options import WebOptions
from webui.webhooks.derive import derive_received, derive_status_events
from webui.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    body_bytes,
    signature,
)

log = structlog.get_logger("webui.webhooks")

LEASE = timedelta(seconds=60)
CLAIM_BATCH = 20
USER_AGENT = "smsgw-webhooks/1"
STOP_GRACE = 15.0


async def claim_due(conn: AsyncConnection, now: datetime, limit: int) -> list[Any]:
    due = (
        select(webhook_deliveries.c.id)
        .where(
            webhook_deliveries.c.status == "pending",
            webhook_deliveries.c.next_attempt_at <= now,
        )
        .order_by(webhook_deliveries.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    result = await conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=now + LEASE)
        .returning(*webhook_deliveries.c)
    )
    return sorted(result.all(), key=lambda row: row.id)


def error_class(exc: BaseException) -> str:
    """What ``last_error`` keeps: a class, never the exception's text, which would tell an
    open port from a closed one (``timeout``, ``refused_address``, ``connect_failed``,
    ``invalid_url``; ``http_status_<n>`` for answers)."""
    if any(isinstance(cause, RefusedAddress) for cause in causes(exc)):
        return "refused_address"
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return "invalid_url"
    return "connect_failed"


def shown(url: str) -> str:
    """``url`` for the log, without a user name or password."""
    try:
        return str(URL(url).with_user(None))
    except ValueError:
        return "<not a URL>"


def causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (aiohttp wraps resolver errors in its own)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        wrapped = getattr(current, "os_error", None)
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__
    return found


def backoff(attempts: int, options: WebOptions) -> float:
    return float(
        min(options.webhook_backoff_cap, options.webhook_backoff_base * 2 ** max(0, attempts - 1))
    )


class Dispatcher:
    def __init__(self, db: Database, options: WebOptions, session: aiohttp.ClientSession) -> None:
        self.db = db
        self.options = options
        self.session = session
        self.wake = asyncio.Event()
        self.stopping = False

    def stop(self) -> None:
        """Finish the current round, then return from :meth:`run`."""
        self.stopping = True
        self.wake.set()

    async def run(self) -> None:
        last_round = -float("inf")
        busy = False
        while not self.stopping:
            calm = last_round + self.options.webhook_min_interval - time.monotonic()
            if calm > 0 and not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped(), calm)
            last_round = time.monotonic()
            try:
                busy = await self.round()
            except DatabaseUnavailable as exc:
                log.warning("Webhook dispatcher waiting for the database", reason=str(exc))
                busy = False
            except Exception:
                log.exception("Webhook dispatcher round failed")
                busy = False
            if busy or self.stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.options.webhook_poll_interval)
            self.wake.clear()

    async def _stopped(self) -> None:
        while not self.stopping:
            await self.wake.wait()
            self.wake.clear()

    async def round(self) -> bool:
        """Derive and send what is due; True when there may be more right away."""
        lag = 0.0 if self.db.dialect_name == "sqlite" else self.options.webhook_commit_lag
        async with self.db.begin() as conn:
            now = utc_now()
            derived = await derive_status_events(conn, now, lag)
            derived += await derive_received(conn, now, lag)
        async with self.db.begin() as conn:
            claimed = await claim_due(conn, utc_now(), CLAIM_BATCH)
            secrets = await self._secrets(conn, claimed)
        if claimed:
            await asyncio.gather(*(self.deliver(row, secrets.get(row.id)) for row in claimed))
        return bool(claimed) or derived > 0

    async def _secrets(self, conn: AsyncConnection, rows: list[Any]) -> dict[int, str]:
        """Each delivery's signing secret, by delivery id: the key's, except for a delivery to
        the webhook of the key's account (the key has none of its own), signed with the
        account's secret."""
        ids = {row.api_key_id for row in rows if row.api_key_id is not None}
        if not ids:
            return {}
        result = await conn.execute(
            select(
                api_keys.c.id,
                api_keys.c.webhook_url,
                api_keys.c.webhook_secret,
                accounts.c.webhook_url.label("account_url"),
                accounts.c.webhook_secret.label("account_secret"),
            )
            .select_from(api_keys.join(accounts, api_keys.c.account_id == accounts.c.id))
            .where(api_keys.c.id.in_(ids))
        )
        keys = {key.id: key for key in result}
        secrets: dict[int, str] = {}
        for row in rows:
            key = keys.get(row.api_key_id)
            if key is None:
                continue
            to_account = not key.webhook_url and key.account_url and row.url == key.account_url
            secret = key.account_secret if to_account else key.webhook_secret
            if secret:
                secrets[row.id] = secret
        return secrets

    async def deliver(self, row: Any, secret: str | None) -> None:
        status: int | None = None
        error: str | None = None
        try:
            status = await self._send(row, secret)
            if not 200 <= status < 300:
                error = f"http_status_{status}"
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            error = error_class(exc)
            log.info(
                "Webhook not delivered", delivery=row.id, error=error, detail=type(exc).__name__
            )
        await self._record(row, status, error)

    async def _send(self, row: Any, secret: str | None) -> int:
        url = URL(row.url).with_user(None)  # credentials in a URL are never sent
        self.options.webhook_policy.check_literal(url.raw_host or "")
        timeout = aiohttp.ClientTimeout(total=self.options.webhook_timeout)
        headers = {
            EVENT_HEADER: row.event,
            TIMESTAMP_HEADER: str(int(time.time())),
            DELIVERY_HEADER: str(row.id),
            "User-Agent": USER_AGENT,
        }
        if row.event == "kannel.dlr":
            async with self.session.get(
                url, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                return response.status
        body = body_bytes(row.payload)
        headers["Content-Type"] = "application/json"
        if secret:
            headers[SIGNATURE_HEADER] = signature(secret, body)
        async with self.session.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        ) as response:
            return response.status

    async def _record(self, row: Any, status: int | None, error: str | None) -> None:
        now = utc_now()
        attempts = row.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "response_status": status,
            "last_error": error,
        }
        if error is None:
            values.update(status="delivered", delivered_at=now, next_attempt_at=None)
        elif attempts >= self.options.webhook_max_attempts:
            values.update(status="failed", next_attempt_at=None)
            log.warning("Webhook gave up", delivery=row.id, url=shown(row.url), error=error)
        else:
            retry_in = backoff(attempts, self.options)
            values["next_attempt_at"] = now + timedelta(seconds=retry_in)
            log.info(
                "Webhook failed, will retry",
                delivery=row.id,
                url=shown(row.url),
                error=error,
                retry_in=retry_in,
            )
        async with self.db.begin() as conn:
            await conn.execute(
                update(webhook_deliveries).where(webhook_deliveries.c.id == row.id).values(**values)
            )


async def _wake_on_events(bus: Bus, dispatcher: Dispatcher) -> None:
    subscription = bus.subscribe(EVENTS)
    try:
        async for event in subscription:
            if isinstance(event, MessageStatusChanged | MessageReceived):
                dispatcher.wake.set()
    finally:
        bus.unsubscribe(subscription)


@contextlib.asynccontextmanager
async def running_dispatcher(
    db: Database, bus: Bus, options: WebOptions
) -> AsyncIterator[Dispatcher]:
    """The dispatcher, running until the block ends. Its connections go only to addresses the
    webhook policy allows, checked after each name is resolved."""
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(options.webhook_policy))
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
        dispatcher = Dispatcher(db, options, session)
        runner = asyncio.create_task(dispatcher.run(), name="webhook-dispatcher")
        waker = asyncio.create_task(_wake_on_events(bus, dispatcher), name="webhook-wake")
        try:
            yield dispatcher
        finally:
            # Cancelling in the middle of a database call can leave a SQLite connection
            # half-closed: let the round finish instead, and cancel only a stuck one.
            dispatcher.stop()
            waker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waker
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(runner, STOP_GRACE)
