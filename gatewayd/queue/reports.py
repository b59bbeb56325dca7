"""Delivery reports: matching an SMS-STATUS-REPORT to the part it speaks of, and expiry.

A report names only the modem it arrived on, a TP-MR (0–255, reused every 256 sends), the
recipient as the network writes it (national or international) and the SMSC's clock. A part
matches when it went out through the same SIM (IMSI; the modem name when the IMSI is unknown)
with that MR, to the same subscriber, within the validity window. Among several candidates (MR
wrap-around) the oldest still awaiting its report wins: reports come back in order far more
reliably than SMSC clocks agree with ours. A report that matches no such part may settle a part
left ``unknown`` (:mod:`gatewayd.queue.unknown_parts`). Parts whose report never comes expire.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.numbers import recipient_rank
from gatewayd.queue.progress import (
    StatusChange,
    bound,
    record_events,
    roll_up,
)
from gatewayd.queue.unknown_parts import MatchedBy, find_unknown_part, settle_unknown_part
from gatewayd.sms import StatusReport
from gatewayd.store import Database, MessageStatus, PartStatus, message_parts, messages
from gatewayd.store.group_commit import GroupCommit, ObserveBatch, Pending

MATCH_WINDOW = timedelta(days=7)
DEFAULT_REPORT_WAIT = timedelta(days=3)
"""How long a part waits for its report when the message set no validity period."""
AWAITING = (PartStatus.SENT.value, PartStatus.EXPIRED.value)
"""Part states a report can still settle (a late report turns ``expired`` into its verdict)."""
SETTLED = (PartStatus.DELIVERED.value, PartStatus.FAILED.value)
"""Part states a report no longer changes: a report for one of them is a duplicate."""
SETTLED_LOOKBACK = 20


_REPORT_STATUS = bound("b_report", message_parts.c.report_status)
_PART_REPORTED = {
    "delivered": update(message_parts)
    .where(message_parts.c.id == bindparam("b_part"))
    .values(
        report_status=_REPORT_STATUS,
        status=PartStatus.DELIVERED.value,
        delivered_at=bound("b_at", message_parts.c.delivered_at),
    ),
    "failed": update(message_parts)
    .where(message_parts.c.id == bindparam("b_part"))
    .values(
        report_status=_REPORT_STATUS,
        status=PartStatus.FAILED.value,
        error=bound("b_error", message_parts.c.error),
    ),
    "pending": update(message_parts)
    .where(message_parts.c.id == bindparam("b_part"))
    .values(report_status=_REPORT_STATUS),
}


@functools.cache
def _recently_settled(*, by_imsi: bool) -> Select[Any]:
    """The parts given their verdict lately with a report's SIM and MR, built once."""
    sim_column = message_parts.c.modem_imsi if by_imsi else message_parts.c.modem
    return (
        select(
            message_parts.c.id,
            message_parts.c.message_id,
            message_parts.c.status,
            message_parts.c.seq,
            message_parts.c.total,
            message_parts.c.submitted_at,
            messages.c.recipient,
        )
        .join(messages, messages.c.id == message_parts.c.message_id)
        .where(
            sim_column == bindparam("b_sim"),
            message_parts.c.mr == bindparam("b_mr"),
            message_parts.c.submitted_at >= bound("b_since", message_parts.c.submitted_at),
            message_parts.c.status.in_(SETTLED),
        )
        .order_by(message_parts.c.submitted_at.desc(), message_parts.c.id.desc())
        .limit(SETTLED_LOOKBACK)
    )


@dataclass(frozen=True)
class ReportOutcome:
    matched: bool
    part_id: int | None = None
    message_id: int | None = None
    duplicate: bool = False
    change: StatusChange | None = None
    resolved_by: MatchedBy | None = None
    """Set when the report settled an ``unknown`` part (:mod:`gatewayd.queue.unknown_parts`)."""


async def _settle_unknown(
    conn: AsyncConnection, report: StatusReport, *, modem: str, imsi: str | None, now: datetime
) -> ReportOutcome:
    """A report that matched no part awaiting one may settle an ``unknown`` part."""
    found = await find_unknown_part(conn, report, modem=modem, imsi=imsi, now=now)
    if found is None:
        return ReportOutcome(matched=False)
    change = await settle_unknown_part(
        conn, found, report, modem=modem, error=_failure(report), now=now
    )
    return ReportOutcome(
        True, found.row.id, found.row.message_id, change=change, resolved_by=found.matched_by
    )


async def apply_status_report(
    conn: AsyncConnection,
    report: StatusReport,
    *,
    modem: str,
    imsi: str | None,
    now: datetime,
) -> ReportOutcome:
    """Record ``report`` on its part and roll the message up; tell whether it matched
    (:func:`apply_status_reports` with one report)."""
    [outcome] = await apply_status_reports(conn, [ArrivedReport(report, modem, imsi, now)])
    return outcome


def closest_recipients(rows: Sequence[Any], reported: str) -> list[Any]:
    """The rows whose recipient is the reported number, in the closest form any of them has.

    An exact match beats a national form that ends the international one, which beats the
    loose trailing-digits rule: ``+5521987650000`` must not take the report meant for
    ``+5511987650000`` just because both share a MR and their last digits.
    """

    ranked = [(recipient_rank(row.recipient, reported), row) for row in rows]
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
            select(
                message_parts.c.id,
                message_parts.c.message_id,
                messages.c.validity_minutes,
                message_parts.c.sent_at,
            )
            .join(messages, messages.c.id == message_parts.c.message_id)
            .where(
                messages.c.status_report.is_(True),
                message_parts.c.status == PartStatus.SENT.value,
                or_(
                    and_(
                        messages.c.validity_minutes.is_(None),
                        message_parts.c.sent_at < default_cutoff,
                    ),
                    messages.c.validity_minutes.is_not(None),
                ),
            )
            .limit(5000)
        )
    ).all()
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


@dataclass(frozen=True)
class ArrivedReport:
    report: StatusReport
    modem: str
    imsi: str | None
    now: datetime


class ReportRecorder(GroupCommit[ArrivedReport, ReportOutcome]):
    """Status reports from every modem, those arriving together applied in one transaction
    (:mod:`gatewayd.store.group_commit`) by :func:`apply_status_reports`."""

    def __init__(self, db: Database, *, observe: ObserveBatch | None = None) -> None:
        super().__init__("report-recorder", observe=observe)
        self.db = db

    async def apply(
        self, report: StatusReport, *, modem: str, imsi: str | None, now: datetime
    ) -> ReportOutcome:
        return await self.submit(ArrivedReport(report, modem, imsi, now))

    async def transaction(
        self, batch: list[Pending[ArrivedReport, ReportOutcome]]
    ) -> list[ReportOutcome]:
        async with self.db.begin() as conn:
            return await apply_status_reports(conn, [pending.item for pending in batch])


async def apply_status_reports(
    conn: AsyncConnection, arrived: Sequence[ArrivedReport]
) -> list[ReportOutcome]:
    """Record each report on its part and roll the messages up, in the reports' order; an
    outcome each. The parts awaiting them are looked up in one query, and the reports that
    name their part exactly (the common case) are recorded a few statements for all. The
    others (a recipient written differently, a duplicate, an ``unknown`` part) are matched
    one by one (:func:`_match_loosely`) against what the reports before them recorded."""
    awaiting = await _awaiting_parts(conn, arrived)
    batch = _ReportBatch()
    outcomes: list[ReportOutcome | None] = []
    for item in arrived:
        report = item.report
        sim = item.imsi if item.imsi else item.modem
        since = item.now - MATCH_WINDOW
        still_awaiting = [
            r
            for r in awaiting.get((bool(item.imsi), sim, report.mr), ())
            if r.id not in batch.settled and r.submitted_at >= since
        ]
        exact = sorted(
            (r for r in still_awaiting if recipient_rank(r.recipient, report.recipient) == 0),
            key=lambda r: (r.submitted_at, r.id),
        )
        if exact:
            # Nothing settled can match better than the same number written the same way.
            outcomes.append(None)
            batch.add(len(outcomes) - 1, item, exact[0])
            continue
        outcomes = [*(await batch.flush(conn, outcomes))]
        part, outcome = await _match_loosely(conn, item, still_awaiting)
        outcomes.append(outcome)
        if part is not None:
            batch.add(len(outcomes) - 1, item, part)
    return [outcome for outcome in await batch.flush(conn, outcomes) if outcome is not None]


async def _match_loosely(
    conn: AsyncConnection, item: ArrivedReport, awaiting_rows: list[Any]
) -> tuple[Any, ReportOutcome | None]:
    """A report none of ``awaiting_rows`` (the parts still awaiting one with its SIM and MR)
    names exactly: the part to record it on (outcome None), or the outcome without one (a
    duplicate, an ``unknown`` part settled, no match)."""
    report = item.report
    sim = item.imsi if item.imsi else item.modem
    params = {"b_sim": sim, "b_mr": report.mr, "b_since": item.now - MATCH_WINDOW}
    # Settled parts are only wanted to recognise a duplicate report, so the most recent
    # handful is enough.
    settled_rows = (await conn.execute(_recently_settled(by_imsi=bool(item.imsi)), params)).all()
    rows = sorted([*awaiting_rows, *settled_rows], key=lambda r: (r.submitted_at, r.id))
    candidates = closest_recipients(rows, report.recipient)
    if not candidates:
        return None, await _settle_unknown(
            conn, report, modem=item.modem, imsi=item.imsi, now=item.now
        )
    awaiting = [r for r in candidates if r.status in AWAITING]
    if not awaiting:
        latest = candidates[-1]
        return None, ReportOutcome(True, latest.id, latest.message_id, duplicate=True)
    return awaiting[0], None


@functools.cache
def _awaiting_of_pairs(*, by_imsi: bool) -> Select[Any]:
    """The parts awaiting a report with any of the (SIM, MR) pairs ``b_pairs``, built once."""
    sim_column = message_parts.c.modem_imsi if by_imsi else message_parts.c.modem
    return (
        select(
            message_parts.c.id,
            message_parts.c.message_id,
            message_parts.c.status,
            message_parts.c.seq,
            message_parts.c.total,
            message_parts.c.submitted_at,
            message_parts.c.modem_imsi,
            message_parts.c.modem,
            message_parts.c.mr,
            messages.c.recipient,
        )
        .join(messages, messages.c.id == message_parts.c.message_id)
        .where(
            tuple_(sim_column, message_parts.c.mr).in_(bindparam("b_pairs", expanding=True)),
            message_parts.c.status.in_(AWAITING),
            message_parts.c.submitted_at >= bound("b_since", message_parts.c.submitted_at),
        )
    )


async def _awaiting_parts(
    conn: AsyncConnection, arrived: Sequence[ArrivedReport]
) -> dict[tuple[bool, str, int], list[Any]]:
    """The parts awaiting a report with any of the reported (SIM, MR) pairs."""
    found: dict[tuple[bool, str, int], list[Any]] = {}
    for by_imsi in (True, False):
        wanted = sorted(
            {
                ((a.imsi if by_imsi else a.modem) or "", a.report.mr)
                for a in arrived
                if bool(a.imsi) == by_imsi
            }
        )
        if not wanted:
            continue
        since = min(a.now for a in arrived) - MATCH_WINDOW
        rows = await conn.execute(
            _awaiting_of_pairs(by_imsi=by_imsi), {"b_pairs": wanted, "b_since": since}
        )
        for row in rows:
            sim = row.modem_imsi if by_imsi else row.modem
            found.setdefault((by_imsi, sim, row.mr), []).append(row)
    return found


_MESSAGES_SETTLED = {
    "delivered": update(messages)
    .where(
        messages.c.id.in_(bindparam("b_ids", expanding=True)),
        messages.c.status != MessageStatus.DELIVERED.value,
    )
    .values(
        status=MessageStatus.DELIVERED.value,
        updated_at=bound("b_now", messages.c.updated_at),
        claimed_by=None,
        error=None,
        delivered_at=select(func.max(message_parts.c.delivered_at))
        .where(message_parts.c.message_id == messages.c.id)
        .scalar_subquery(),
    )
    .returning(messages.c.id),
    "failed": update(messages)
    .where(
        messages.c.id.in_(bindparam("b_ids", expanding=True)),
        messages.c.status != MessageStatus.FAILED.value,
    )
    .values(
        status=MessageStatus.FAILED.value,
        updated_at=bound("b_now", messages.c.updated_at),
        claimed_by=None,
        error=select(func.max(message_parts.c.error))
        .where(message_parts.c.message_id == messages.c.id)
        .scalar_subquery(),
    )
    .returning(messages.c.id, messages.c.error),
}


@dataclass
class _ReportBatch:
    """Reports matched exactly, recorded together at :meth:`flush`."""

    settled: set[int] = field(default_factory=set)
    """Parts given their verdict in this transaction: a later report for one is a duplicate."""
    _matched: list[tuple[int, ArrivedReport, Any]] = field(default_factory=list)

    def add(self, position: int, item: ArrivedReport, part: Any) -> None:
        self._matched.append((position, item, part))
        if item.report.state != "pending":
            self.settled.add(part.id)

    async def flush(
        self, conn: AsyncConnection, outcomes: list[ReportOutcome | None]
    ) -> list[ReportOutcome | None]:
        """Record what was matched; ``outcomes`` with those reports' outcomes filled in."""
        matched, self._matched = self._matched, []
        if not matched:
            return outcomes
        by_state: dict[str, list[dict[str, Any]]] = {}
        events = []
        for _, item, part in matched:
            report = item.report
            by_state.setdefault(report.state, []).append(
                {
                    "b_part": part.id,
                    "b_report": report.status,
                    "b_at": report.discharge_time or item.now,
                    "b_error": _failure(report),
                }
            )
            events.append(
                {
                    "b_message": part.message_id,
                    "b_seq": part.seq,
                    "b_status": f"report:{report.state}",
                    "b_detail": f"TP-ST {report.status:#04x}",
                    "b_modem": item.modem,
                    "b_now": item.now,
                }
            )
        for state, params in by_state.items():
            await conn.execute(_PART_REPORTED[state], params)
        await record_events(conn, events)
        now = max(item.now for _, item, _ in matched)
        changes = await _settle_one_part_messages(conn, matched, now)
        for position, item, part in matched:
            report = item.report
            change: StatusChange | None = None
            if report.state == "pending":
                pass
            elif part.total == 1:
                change = changes.pop(part.message_id, None)
            else:
                if report.state == "failed":
                    await conn.execute(
                        update(messages)
                        .where(messages.c.id == part.message_id)
                        .values(error=_failure(report), updated_at=item.now)
                    )
                change = await roll_up(conn, part.message_id, now=item.now)
            outcomes[position] = ReportOutcome(True, part.id, part.message_id, change=change)
        return outcomes


async def _settle_one_part_messages(
    conn: AsyncConnection, matched: list[tuple[int, ArrivedReport, Any]], now: datetime
) -> dict[int, StatusChange]:
    """The messages of one part whose part got its verdict take it: the part's verdict is
    the message's, so nothing needs reading."""
    changes: dict[int, StatusChange] = {}
    for state in ("delivered", "failed"):
        ids = sorted(
            {
                part.message_id
                for _, item, part in matched
                if part.total == 1 and item.report.state == state
            }
        )
        if not ids:
            continue
        rows = (await conn.execute(_MESSAGES_SETTLED[state], {"b_ids": ids, "b_now": now})).all()
        for row in rows:
            error = row.error if state == "failed" else None
            changes[row.id] = StatusChange(row.id, state, error)
        await record_events(
            conn,
            [
                {
                    "b_message": row.id,
                    "b_seq": None,
                    "b_status": state,
                    "b_detail": None,
                    "b_modem": None,
                    "b_now": now,
                }
                for row in rows
            ],
        )
    return changes


def _failure(report: StatusReport) -> str:
    return f"the network could not deliver it (TP-ST {report.status:#04x})"
