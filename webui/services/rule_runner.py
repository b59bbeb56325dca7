"""Running the rules on incoming SMS, durably: each stored message is evaluated exactly once.

``incoming_messages`` is read past the cursor ``rules.incoming_messages`` in ``web_cursors``
(the pattern of :mod:`webui.webhooks.derive`); the actions of a batch of messages and the
cursor's move commit in one transaction, so a crash redoes the whole batch or none of it. On
PostgreSQL the cursor row is locked with ``SKIP LOCKED``: of several web processes one
evaluates at a time. Rows younger than the commit lag wait for the next round (ids are
handed out before the transactions that use them commit). A new cursor starts at the newest
message: rules made today do not answer last year's inbox.

Messages that are opt-out or opt-in words are left to the opt-out list
(:mod:`gatewayd.queue.opt_words`) and match no rule.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.bus import Bus
from gatewayd.events import EVENTS, WAKE, MessageReceived, WakeUp
from gatewayd.queue.suppression import load_settings
from gatewayd.store import (
    Database,
    DatabaseUnavailable,
    incoming_messages,
    rules,
    utc_now,
    web_cursors,
)
from webui.services.errors import Invalid
from webui.services.rule_actions import Outcome, recent_replies, replyable, run_action
from webui.services.rule_match import Incoming, Rule, evaluate, parse_rule

CURSOR = "rules.incoming_messages"
BATCH = 500
log = structlog.get_logger(__name__)


async def _lock_cursor(conn: AsyncConnection) -> int | None:
    """The position, locked; None when another process holds it. Created at the newest
    message when missing."""
    query = select(web_cursors.c.position).where(web_cursors.c.name == CURSOR)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    position = await conn.scalar(query)
    if position is not None:
        return int(position)
    if await conn.scalar(select(web_cursors.c.name).where(web_cursors.c.name == CURSOR)):
        return None
    newest = int(await conn.scalar(select(func.coalesce(func.max(incoming_messages.c.id), 0))) or 0)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        await conn.execute(
            pg_insert(web_cursors).values(name=CURSOR, position=newest).on_conflict_do_nothing()
        )
        return await _lock_cursor(conn)
    await conn.execute(insert(web_cursors).values(name=CURSOR, position=newest))
    return newest


@dataclass
class RuleCache:
    """Parsed rules, re-parsed only when a rule changed (its ``updated_at``)."""

    parsed: dict[int, tuple[datetime, Rule | None]] = field(default_factory=dict)

    async def enabled(self, conn: AsyncConnection) -> list[Rule]:
        rows = (
            await conn.execute(
                select(rules)
                .where(rules.c.enabled.is_(True))
                .order_by(rules.c.position, rules.c.id)
            )
        ).all()
        out: list[Rule] = []
        for row in rows:
            known = self.parsed.get(row.id)
            if known is None or known[0] != row.updated_at:
                known = (row.updated_at, _parse_stored(row))
                self.parsed[row.id] = known
            if known[1] is not None:
                out.append(known[1])
        return out


def _parse_stored(row: Any) -> Rule | None:
    data = {"name": row.name, "match": row.match, "actions": row.actions, "stop": row.stop}
    try:
        return parse_rule(row.id, data, probe=False)
    except Invalid as exc:
        log.warning("Rule cannot be used", rule=row.id, reason=exc.message)
        return None


async def run_rules(
    conn: AsyncConnection,
    now: datetime,
    *,
    commit_lag: float,
    region: str | None,
    cache: RuleCache,
) -> tuple[int, Outcome]:
    """Evaluate the messages past the cursor (one batch) and move it; (messages, outcome)."""
    position = await _lock_cursor(conn)
    outcome = Outcome()
    if position is None:
        return 0, outcome
    received = (
        await conn.execute(
            select(incoming_messages)
            .where(incoming_messages.c.id > position)
            .order_by(incoming_messages.c.id)
            .limit(BATCH)
        )
    ).all()
    horizon = now - timedelta(seconds=commit_lag)
    ready = []
    for row in received:
        if commit_lag and row.stored_at > horizon:
            break  # a younger row's transaction may still be open below it
        ready.append(row)
    if not ready:
        return 0, outcome
    enabled = await cache.enabled(conn)
    words = await load_settings(conn)
    senders = {row.sender: replyable(row.sender) for row in ready} if enabled else {}
    outcome.recent = await recent_replies(conn, sorted({n for n in senders.values() if n}), now)
    counts: dict[int, int] = {}
    for row in ready:
        if not enabled or words.word_of(row.text) is not None:
            continue
        message = Incoming(row.id, row.sender, row.text, row.modem, row.received_at)
        for rule in evaluate(enabled, message):
            counts[rule.id] = counts.get(rule.id, 0) + 1
            for action in rule.actions:
                await run_action(conn, rule, action, message, outcome, region=region, now=now)
    await outcome.flush(conn, region=region, now=now)
    for rule_id, count in counts.items():
        await conn.execute(
            update(rules)
            .where(rules.c.id == rule_id)
            .values(matched=rules.c.matched + count, last_matched_at=now)
        )
    for rule_id, problem in outcome.errors.items():
        await conn.execute(
            update(rules).where(rules.c.id == rule_id).values(last_error=problem[:500])
        )
    await conn.execute(
        update(web_cursors)
        .where(web_cursors.c.name == CURSOR)
        .values(position=ready[-1].id, updated_at=now)
    )
    return len(ready), outcome


@dataclass
class RuleRunner:
    """The loop of one web process: a round when a message arrives (live event) or every
    ``poll_interval`` seconds; gatewayd is woken when a round queued messages."""

    db: Database
    bus: Bus
    region: str | None
    commit_lag: float = 2.0
    poll_interval: float = 2.0
    cache: RuleCache = field(default_factory=RuleCache)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False

    async def round(self) -> int:
        lag = 0.0 if self.db.dialect_name == "sqlite" else self.commit_lag
        async with self.db.begin() as conn:
            done, outcome = await run_rules(
                conn, utc_now(), commit_lag=lag, region=self.region, cache=self.cache
            )
        if outcome.queued:
            with contextlib.suppress(Exception):  # a hint: the workers poll anyway
                await self.bus.publish(WAKE, WakeUp.queued(outcome.queued, outcome.modems))
        return done

    async def run(self) -> None:
        while not self.stopping:
            try:
                busy = await self.round() > 0
            except DatabaseUnavailable as exc:
                log.warning("Rules waiting for the database", reason=str(exc))
                busy = False
            except Exception:
                log.exception("Rules round failed")
                busy = False
            if busy or self.stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_interval)
            self.wake.clear()

    async def _listen(self) -> None:
        subscription = self.bus.subscribe(EVENTS)
        try:
            async for event in subscription:
                if isinstance(event, MessageReceived):
                    self.wake.set()
        finally:
            self.bus.unsubscribe(subscription)


@contextlib.asynccontextmanager
async def running_rules(runner: RuleRunner) -> AsyncIterator[RuleRunner]:
    """``runner`` running until the block ends; the current round is let finish."""
    loop_task = asyncio.create_task(runner.run(), name="rules")
    listener = asyncio.create_task(runner._listen(), name="rules-wake")
    try:
        yield runner
    finally:
        runner.stopping = True
        runner.wake.set()
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(loop_task, 10)
