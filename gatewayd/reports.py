"""Delivery reports: matching an SMS-STATUS-REPORT to the part it speaks of, and expiry.

A report names only the modem it arrived on, a TP-MR (0–255, reused every 256 sends), the
recipient as the network writes it (national or international) and the SMSC's clock. A part
matches when it went out through the same SIM (IMSI; the modem name when the IMSI is unknown)
with that MR, to the same subscriber, within the validity window. Among several candidates (MR
wrap-around) the oldest still awaiting its report wins: reports come back in order far more
reliably than SMSC clocks agree with ours. Parts whose report never comes expire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.numbers import digits, same_subscriber
from gatewayd.queue.progress import StatusChange, record_event, roll_up
from gatewayd.sms import StatusReport
from gatewayd.store import PartStatus, message_parts, messages

MATCH_WINDOW = timedelta(days=7)
MIN_NATIONAL_DIGITS = 6
DEFAULT_REPORT_WAIT = timedelta(days=3)
"""How long a part waits for its report when the message set no validity period."""
AWAITING = (PartStatus.SENT.value, PartStatus.EXPIRED.value)
"""Part states a report can still settle (a late report turns ``expired`` into its verdict)."""
SETTLED = (PartStatus.DELIVERED.value, PartStatus.FAILED.value)
"""Part states a report no longer changes: a report for one of them is a duplicate."""
SETTLED_LOOKBACK = 20


@dataclass(frozen=True)
class ReportOutcome:
    matched: bool
    part_id: int | None = None
    message_id: int | None = None
    duplicate: bool = False
    change: StatusChange | None = None


async def apply_status_report(
    conn: AsyncConnection,
    report: StatusReport,
    *,
    modem: str,
    imsi: str | None,
    now: datetime,
) -> ReportOutcome:
    """Record ``report`` on its part and roll the message up; tell whether it matched."""
    same_sim = (
        message_parts.c.modem_imsi == imsi if imsi else message_parts.c.modem == modem
    )
    candidates_of = (
        select(
            message_parts.c.id,
            message_parts.c.message_id,
            message_parts.c.status,
            message_parts.c.seq,
            message_parts.c.submitted_at,
            messages.c.recipient,
        )
        .join(messages, messages.c.id == message_parts.c.message_id)
        .where(
            same_sim,
            message_parts.c.mr == report.mr,
            message_parts.c.submitted_at >= now - MATCH_WINDOW,
        )
    )
    # Parts still awaiting a report are few and indexed on their own; settled ones are only
    # wanted to recognise a duplicate report, so the most recent handful is enough.
    awaiting_rows = (
        await conn.execute(candidates_of.where(message_parts.c.status.in_(AWAITING)))
    ).all()
    settled_rows = (
        await conn.execute(
            candidates_of.where(message_parts.c.status.in_(SETTLED))
            .order_by(message_parts.c.submitted_at.desc(), message_parts.c.id.desc())
            .limit(SETTLED_LOOKBACK)
        )
    ).all()
    rows = sorted([*awaiting_rows, *settled_rows], key=lambda r: (r.submitted_at, r.id))
    candidates = closest_recipients(rows, report.recipient)
    if not candidates:
        return ReportOutcome(matched=False)
    awaiting = [r for r in candidates if r.status in AWAITING]
    if not awaiting:
        latest = candidates[-1]
        return ReportOutcome(True, latest.id, latest.message_id, duplicate=True)
    part = awaiting[0]
    values: dict[str, object] = {"report_status": report.status}
    if report.state == "delivered":
        values.update(status=PartStatus.DELIVERED.value, delivered_at=report.discharge_time or now)
    elif report.state == "failed":
        values.update(
            status=PartStatus.FAILED.value,
            error=f"the network could not deliver it (TP-ST {report.status:#04x})",
        )
    await conn.execute(update(message_parts).where(message_parts.c.id == part.id).values(**values))
    await record_event(
        conn,
        part.message_id,
        f"report:{report.state}",
        f"TP-ST {report.status:#04x}",
        now=now,
        part_seq=part.seq,
        modem=modem,
    )
    change = None
    if report.state == "failed":
        await conn.execute(
            update(messages)
            .where(messages.c.id == part.message_id)
            .values(error=values["error"], updated_at=now)
        )
    if report.state != "pending":
        change = await roll_up(conn, part.message_id, now=now)
    return ReportOutcome(True, part.id, part.message_id, change=change)


def closest_recipients(rows: Sequence[Any], reported: str) -> list[Any]:
    """The rows whose recipient is the reported number, in the closest form any of them has.

    An exact match beats a national form that ends the international one, which beats the
    loose trailing-digits rule: ``+5521987650000`` must not take the report meant for
    ``+5511987650000`` just because both share a MR and their last digits.
    """

    def rank(recipient: str) -> int | None:
        ours, theirs = digits(recipient), digits(reported)
        if ours == theirs:
            return 0
        shorter, longer = sorted((ours, theirs), key=len)
        shorter = shorter.lstrip("0")
        if len(shorter) >= MIN_NATIONAL_DIGITS and longer.endswith(shorter):
            return 1
        return 2 if same_subscriber(recipient, reported) else None

    ranked = [(rank(row.recipient), row) for row in rows]
    found = [r for r, _ in ranked if r is not None]
    if not found:
        return []
    best = min(found)
    return [row for r, row in ranked if r == best]


async def expire_overdue(conn: AsyncConnection, *, now: datetime) -> list[StatusChange]:
    """Parts still awaiting a report past their validity become ``expired``."""
    default_cutoff = now - DEFAULT_REPORT_WAIT
    overdue = (
        await conn.execute(
            select(message_parts.c.id, message_parts.c.message_id, messages.c.validity_minutes,
                   message_parts.c.sent_at)
            .join(messages, messages.c.id == message_parts.c.message_id)
            .where(
                messages.c.status_report.is_(True),
                message_parts.c.status == PartStatus.SENT.value,
                or_(
                    and_(messages.c.validity_minutes.is_(None),
                         message_parts.c.sent_at < default_cutoff),
                    messages.c.validity_minutes.is_not(None),
                ),
            )
            .limit(5000)
        )
    ).all()  # fmt: skip
    expired_ids = [
        row.id
        for row in overdue
        if row.validity_minutes is None
        or row.sent_at + timedelta(minutes=row.validity_minutes) < now
    ]
    if not expired_ids:
        return []
    await conn.execute(
        update(message_parts)
        .where(message_parts.c.id.in_(expired_ids))
        .values(status=PartStatus.EXPIRED.value, error="no delivery report within validity")
    )
    changes = []
    for message_id in sorted({row.message_id for row in overdue if row.id in expired_ids}):
        change = await roll_up(conn, message_id, now=now)
        if change is not None:
            changes.append(change)
    return changes
