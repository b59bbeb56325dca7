"""Which ``unknown`` part a status report speaks of, when it matched no part awaiting one.

A part is ``unknown`` when gatewayd handed it to a modem and never heard the answer (a crash,
or a modem that fell silent). If the network took it, its status report still comes, and it
settles the doubt. Two rules, tried in order, on the parts that went ``unknown`` through the
report's SIM (the modem's name when the IMSI is unknown):

1. *by reference*: the part's TP-MR was recorded and is the report's, matched as usual;
2. *by recipient and time*: the TP-MR was never heard (the crash came between writing
   ``AT+CMGS`` and reading ``+CMGS: <mr>``). A part without an MR fits when its recipient is
   the report's (the same digits, or a national form of them) and the report's SCTS (when the
   SMSC took the submit) lies within :data:`TIME_WINDOW` of the part's ``submitted_at`` (when
   it was handed to the modem). The report settles an ``unknown`` part only when it fits no
   other part, ``unknown`` or still ``sending`` (whose answer is not recorded yet): otherwise
   it could be the other's, so all stay as they are and the reason is logged.

:func:`find_unknown_part` applies the rules; :func:`settle_unknown_part` records the verdict as
any report's, plus a ``resolved`` event, an audit log entry (``message.resolved`` by
``system``) and a log line. :mod:`gatewayd.queue.reports` calls both for a report that matched
nothing else.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog
from sqlalchemy import Select, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.numbers import recipient_rank
from gatewayd.queue.progress import StatusChange, bound, record_events, roll_up
from gatewayd.sms import StatusReport
from gatewayd.store import PartStatus, audit_log, message_parts, messages

log = structlog.get_logger(__name__)

TIME_WINDOW = timedelta(minutes=5)
"""How far the SMSC's timestamp may be from the time the part was handed to the modem: the
modem's answer takes seconds, the SMSC's clock may be off by a minute or two."""
LOOKBACK = timedelta(days=7)
"""Older ``unknown`` parts are not considered (the SMSC keeps a report no longer)."""

IN_DOUBT = (PartStatus.UNKNOWN.value, PartStatus.SENDING.value)
"""Parts handed to a modem whose MR may not be known."""
RESOLVED = "resolved"
"""The event of a part whose doubt a status report settled."""

MatchedBy = Literal["reference", "recipient and time"]


@dataclass(frozen=True)
class UnknownPart:
    """An ``unknown`` part a report settles, and the rule that found it."""

    row: Any
    """``id``, ``message_id``, ``seq``, ``total``, ``submitted_at``, ``mr``, ``status``,
    ``recipient``."""
    matched_by: MatchedBy


@functools.cache
def _unknown_of(*, by_imsi: bool) -> Select[Any]:
    """The ``unknown`` and ``sending`` parts of a SIM with the MR ``b_mr`` or none, built
    once."""
    sim_column = message_parts.c.modem_imsi if by_imsi else message_parts.c.modem
    return (
        select(
            message_parts.c.id,
            message_parts.c.message_id,
            message_parts.c.seq,
            message_parts.c.total,
            message_parts.c.submitted_at,
            message_parts.c.mr,
            message_parts.c.status,
            messages.c.recipient,
        )
        .join(messages, messages.c.id == message_parts.c.message_id)
        .where(
            message_parts.c.status.in_(IN_DOUBT),
            sim_column == bindparam("b_sim"),
            or_(message_parts.c.mr == bindparam("b_mr"), message_parts.c.mr.is_(None)),
            message_parts.c.submitted_at >= bound("b_since", message_parts.c.submitted_at),
        )
        .order_by(message_parts.c.submitted_at, message_parts.c.id)
    )


async def find_unknown_part(
    conn: AsyncConnection,
    report: StatusReport,
    *,
    modem: str,
    imsi: str | None,
    now: datetime,
) -> UnknownPart | None:
    """The ``unknown`` part ``report`` settles by the rules above; None when there is none or
    the report fits several."""
    params = {"b_sim": imsi or modem, "b_mr": report.mr, "b_since": now - LOOKBACK}
    rows = (await conn.execute(_unknown_of(by_imsi=bool(imsi)), params)).all()
    if not any(r.status == PartStatus.UNKNOWN.value for r in rows):
        return None
    by_reference = [
        (rank, r)
        for r in rows
        if r.status == PartStatus.UNKNOWN.value
        and r.mr == report.mr
        and (rank := recipient_rank(r.recipient, report.recipient)) is not None
    ]
    if by_reference:  # the closest form of the number, then the oldest part (rows are in order)
        return UnknownPart(min(by_reference, key=lambda pair: pair[0])[1], "reference")
    candidates = fitting_recipient_and_time(rows, report)
    if len(candidates) == 1 and candidates[0].status == PartStatus.UNKNOWN.value:
        return UnknownPart(candidates[0], "recipient and time")
    if any(r.status == PartStatus.UNKNOWN.value for r in candidates):
        log.warning(
            "Status report fits several parts in doubt; the unknown ones stay unknown",
            modem=modem,
            mr=report.mr,
            recipient=report.recipient,
            state=report.state,
            parts={r.id: r.status for r in candidates},
            messages=sorted({r.message_id for r in candidates}),
        )
    elif report.scts is None:
        log.info(
            "Status report without a timestamp cannot settle an unknown part",
            modem=modem,
            mr=report.mr,
            recipient=report.recipient,
        )
    return None


def fitting_recipient_and_time(rows: list[Any], report: StatusReport) -> list[Any]:
    """The rows without a recorded MR that rule 2 of the module docstring lets ``report``
    settle."""
    scts = report.scts
    if scts is None:
        return []
    return [
        r
        for r in rows
        if r.mr is None
        and recipient_rank(r.recipient, report.recipient) in (0, 1)
        and r.submitted_at is not None
        and abs(scts - r.submitted_at) <= TIME_WINDOW
    ]


_SETTLED = {
    state: update(message_parts)
    .where(
        message_parts.c.id == bindparam("b_part"),
        message_parts.c.status == PartStatus.UNKNOWN.value,
    )
    .values(
        status=status,
        mr=bound("b_mr", message_parts.c.mr),
        sent_at=message_parts.c.submitted_at,
        report_status=bound("b_report", message_parts.c.report_status),
        error=bound("b_error", message_parts.c.error),
        delivered_at=bound("b_at", message_parts.c.delivered_at),
    )
    for state, status in (
        ("delivered", PartStatus.DELIVERED.value),
        ("failed", PartStatus.FAILED.value),
        ("pending", PartStatus.SENT.value),
    )
}
"""The part takes the report's verdict (``sent``, awaiting the final report, when the SMSC is
still trying) and the MR it was sent with."""


async def settle_unknown_part(
    conn: AsyncConnection,
    found: UnknownPart,
    report: StatusReport,
    *,
    modem: str,
    error: str,
    now: datetime,
) -> StatusChange | None:
    """Record ``report`` on the ``unknown`` part it settles and roll its message up; the
    message's event line, the audit log and the daemon's log say it was the network's report.
    ``error`` is the part's (and message's) error when the report is a failure."""
    part = found.row
    failed = report.state == "failed"
    await conn.execute(
        _SETTLED[report.state],
        {
            "b_part": part.id,
            "b_mr": report.mr,
            "b_report": report.status,
            "b_error": error if failed else None,
            "b_at": (report.discharge_time or now) if report.state == "delivered" else None,
        },
    )
    how = f"settled by the network's status report, matched by {found.matched_by}"
    await record_events(
        conn,
        [
            {
                "b_message": part.message_id,
                "b_seq": part.seq,
                "b_status": f"report:{report.state}",
                "b_detail": f"TP-ST {report.status:#04x}",
                "b_modem": modem,
                "b_now": now,
            },
            {
                "b_message": part.message_id,
                "b_seq": part.seq,
                "b_status": RESOLVED,
                "b_detail": f"the part was unknown: {how}",
                "b_modem": modem,
                "b_now": now,
            },
        ],
    )
    await conn.execute(
        insert(audit_log).values(
            at=now,
            actor="system",
            action="message.resolved",
            target=f"message:{part.message_id}",
            detail={
                "part": part.seq,
                "modem": modem,
                "mr": report.mr,
                "report": report.state,
                "matched_by": found.matched_by,
            },
        )
    )
    if failed:
        await conn.execute(
            update(messages)
            .where(messages.c.id == part.message_id)
            .values(error=error, updated_at=now)
        )
    change = await roll_up(conn, part.message_id, now=now)
    log.warning(
        "Unknown part settled by its status report",
        modem=modem,
        message_id=part.message_id,
        part=part.seq,
        mr=report.mr,
        report=report.state,
        matched_by=found.matched_by,
    )
    return change
