"""The conditions alerts watch, read where they can be seen: the ``modems`` table and the live
gatewayd hosts (modems not online; SIM credit against each modem's threshold), the
``messages`` table (failures in a window; a queue that does not move, as ``GET /api/health``
judges it), and the file system of the data directory (the SQLite file's folder, else
``[gateway] data_dir``) as this web process sees it.

Each kind gives an :class:`Observed`: the subjects whose condition holds now, with a one-line
English ``text`` and the ``detail`` figures it was made from, and ``covers`` — the subjects
this process can judge (a disk is judged only by the processes on its host; other kinds by
all), so that an alert of a subject it cannot see is never cleared for lack of a sighting.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.host_state import live_hosts
from gatewayd.store import AlertKind, MessageStatus, messages, modems
from webui.alerts.settings import KindSettings
from webui.services.queue_health import queue_check

FAILED_SCAN = 10_000
"""Newest failed messages looked at for ``message_failed`` (an index walk, bounded)."""
SNIPPET = 160
"""Characters of an SMS text or modem answer quoted in an alert."""


def everything(subject: str) -> bool:
    return True


@dataclass(frozen=True)
class Observation:
    subject: str
    text: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Observed:
    holding: list[Observation]
    covers: Callable[[str], bool] = everything


def snippet(text: str | None) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1] + "…"


@dataclass(frozen=True)
class Where:
    """What this process observes apart from the database: its host name and the folder
    whose file system ``disk_full`` watches."""

    host: str
    data_dir: Path | None

    @classmethod
    def here(cls, sqlite_path: Path | None, data_dir: Path) -> Where:
        folder = sqlite_path.parent if sqlite_path is not None else data_dir
        return cls(socket.gethostname(), folder.resolve())


async def modems_offline(conn: AsyncConnection) -> Observed:
    enabled = {name for host in await live_hosts(conn) for name in host.modems}
    rows = await conn.execute(select(modems.c.name, modems.c.state, modems.c.error))
    holding = [
        Observation(
            row.name,
            f"Modem {row.name} is {row.state}" + (f": {snippet(row.error)}" if row.error else ""),
            {"modem": row.name, "state": row.state, "error": snippet(row.error) or None},
        )
        for row in rows
        if row.name in enabled and row.state != "online"
    ]
    return Observed(sorted(holding, key=lambda o: o.subject))


async def messages_failed(conn: AsyncConnection, setting: KindSettings, now: datetime) -> Observed:
    threshold = setting.threshold or 1
    window = setting.window or 3600
    since = now - timedelta(seconds=window)
    newest = (
        select(messages.c.id, messages.c.updated_at)
        .where(messages.c.status == MessageStatus.FAILED.value)
        .order_by(messages.c.id.desc())
        .limit(FAILED_SCAN)
        .subquery()
    )
    count = int(await conn.scalar(select(func.count()).where(newest.c.updated_at >= since)) or 0)
    if count < threshold:
        return Observed([])
    last = (
        await conn.execute(
            select(messages.c.id, messages.c.recipient, messages.c.text, messages.c.error)
            .where(messages.c.status == MessageStatus.FAILED.value, messages.c.updated_at >= since)
            .order_by(messages.c.id.desc())
            .limit(1)
        )
    ).first()
    detail: dict[str, Any] = {"count": count, "window": window}
    text = f"{count} message{'s' if count != 1 else ''} failed in the last {window} s"
    if last is not None:
        detail |= {
            "last_id": last.id,
            "last_to": last.recipient,
            "last_error": snippet(last.error) or None,
            "last_text": snippet(last.text),
        }
        text += f"; the last, #{last.id} to {last.recipient}: {snippet(last.error) or 'failed'}"
    return Observed([Observation("messages", text, detail)])


async def credit_low(conn: AsyncConnection) -> Observed:
    m = modems.c
    rows = await conn.execute(
        select(m.name, m.balance, m.low_balance, m.balance_text).where(
            m.balance.is_not(None), m.low_balance.is_not(None), m.balance < m.low_balance
        )
    )
    holding = [
        Observation(
            row.name,
            f"SIM credit of modem {row.name} is {row.balance:g}, below {row.low_balance:g}",
            {
                "modem": row.name,
                "balance": row.balance,
                "threshold": row.low_balance,
                "answer": snippet(row.balance_text),
            },
        )
        for row in rows
    ]
    return Observed(sorted(holding, key=lambda o: o.subject))


async def queue_stuck(conn: AsyncConnection, setting: KindSettings, now: datetime) -> Observed:
    seconds = setting.threshold or 300
    details: dict[str, Any] = {}
    if await queue_check(conn, now, details, timedelta(seconds=seconds)) != "stuck":
        return Observed([])
    due = details.get("queue_due", 0)
    oldest = details.get("queue_oldest_due_seconds", 0)
    text = (
        f"The queue is not moving: {due} messages due, the oldest for {oldest:g} s, "
        f"and none sent or failed in the last {seconds} s"
    )
    return Observed([Observation("queue", text, {"due": due, "oldest_seconds": oldest})])


def disk_used(path: Path) -> float:
    usage = shutil.disk_usage(path)
    return 100.0 * (usage.total - usage.free) / usage.total if usage.total else 0.0


async def disk_full(where: Where, setting: KindSettings) -> Observed:
    prefix = f"{where.host}:"
    covers: Callable[[str], bool] = lambda subject: subject.startswith(prefix)  # noqa: E731
    if where.data_dir is None or not where.data_dir.exists():
        return Observed([], covers)
    percent = await asyncio.to_thread(disk_used, where.data_dir)
    if percent < (setting.threshold or 90):
        return Observed([], covers)
    subject = f"{where.host}:{where.data_dir}"[:200]
    text = f"The disk of {where.data_dir} on {where.host} is {percent:.0f}% full"
    detail = {"host": where.host, "path": str(where.data_dir), "percent": round(percent, 1)}
    return Observed([Observation(subject, text, detail)], covers)


async def observe(
    conn: AsyncConnection, kind: AlertKind, setting: KindSettings, now: datetime, where: Where
) -> Observed:
    if kind is AlertKind.MODEM_OFFLINE:
        return await modems_offline(conn)
    if kind is AlertKind.MESSAGE_FAILED:
        return await messages_failed(conn, setting, now)
    if kind is AlertKind.LOW_CREDIT:
        return await credit_low(conn)
    if kind is AlertKind.QUEUE_STUCK:
        return await queue_stuck(conn, setting, now)
    return await disk_full(where, setting)
