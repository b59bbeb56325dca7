"""Outcomes of the SMS a mail became, mailed back to the mail's sender (``[smtp] reports``).

The email-to-SMS server marks each message it queues with the ``callback_url``
``mailto:<envelope sender>?report=<mode>`` (:func:`report_url`; the mode is fixed when the mail
is taken, so a later change of the setting does not change what was promised). Here the
message-level status events are read past the cursor ``mail.reports`` in ``web_cursors`` and,
in the same transaction that moves the cursor, mail is written to the outbox
(:func:`webui.services.mail_outbox.queue_mail`) for the mail sender to deliver: exactly once
per event, whatever crashes, and never waited for by the message pipeline. On PostgreSQL the
cursor row is locked ``SKIP LOCKED`` (one process derives at a time) and events younger than
the commit lag wait a round, as for webhooks.

An outcome is final when the message is ``delivered``, ``failed``, ``expired``, ``cancelled`` or
``unknown``, or ``sent`` without a delivery report asked for. Modes:

* ``failures``: one mail per SMS whose final outcome is not ``delivered`` (nor ``sent``);
* ``each``: one mail per SMS once its outcome is final;
* ``summary``: one mail per received mail once every SMS it became is final: the mail's
  messages are the batch (``batch_id``; a mail to one number is its one message), and the
  summary goes with the event that made the last of them final — decided on events up to the
  cursor, so two rounds never both send it.

A later report that changes a final outcome (``unknown`` then ``delivered``) sends one more
mail in ``failures`` and ``each`` mode, none in ``summary`` mode. Subjects hold only ids,
E.164 numbers, counts and status words; the SMS text and errors go in the body only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import message_events, messages
from webui.services.errors import Invalid
from webui.services.mail_outbox import mail_address, queue_mail
from webui.webhooks.derive import MAIL_SCHEME, lock_cursor, move_cursor

REPORT_CURSOR = "mail.reports"
SCHEME = MAIL_SCHEME
MODES = ("failures", "each", "summary")
FINAL = frozenset({"delivered", "failed", "expired", "cancelled", "unknown"})
SUCCESS = frozenset({"delivered", "sent"})
READ = (*FINAL, "sent")
BATCH = 500
MAX_TEXT_IN_MAIL = 2000

OUTCOME_WORDS = {
    "delivered": "delivered",
    "sent": "sent (no delivery report asked for)",
    "failed": "failed",
    "expired": "not delivered in time (no delivery report within the validity)",
    "cancelled": "cancelled",
    "unknown": "unknown (may or may not have been sent)",
}


@dataclass(frozen=True)
class ReportRequest:
    address: str
    mode: str


def report_url(sender: str | None, mode: str) -> str | None:
    """The ``callback_url`` that asks for reports to ``sender`` (None: off, or the sender is no
    plain address, such as the null sender ``<>`` of bounces)."""
    if mode not in MODES or not sender:
        return None
    try:
        address = mail_address(sender)
    except Invalid:
        return None
    return f"{SCHEME}{quote(address, safe='@')}?report={mode}"


def parse_report_url(url: str | None) -> ReportRequest | None:
    """What :func:`report_url` wrote, or None (no mailto URL, or not one of ours)."""
    if not url or not url.startswith(SCHEME):
        return None
    quoted, _, query = url[len(SCHEME) :].partition("?report=")
    if query not in MODES:
        return None
    try:
        return ReportRequest(mail_address(unquote(quoted)), query)
    except Invalid:
        return None


@dataclass(frozen=True)
class Outcome:
    message_id: int
    recipient: str
    status: str
    at: datetime
    error: str | None


def _is_final(status: str, status_report: bool) -> bool:
    return status in FINAL or (status == "sent" and not status_report)


@dataclass(frozen=True)
class Derived:
    events: int
    """Events read (the cursor moved past them)."""
    mails: int
    """Report mails queued."""


async def derive_reports(conn: AsyncConnection, now: datetime, commit_lag: float) -> Derived:
    """Queue the report mails the events past the cursor call for."""
    position = await lock_cursor(conn, REPORT_CURSOR)
    if position is None:
        return Derived(0, 0)
    events = (
        await conn.execute(
            select(
                message_events.c.id,
                message_events.c.message_id,
                message_events.c.status,
                message_events.c.detail,
                message_events.c.at,
            )
            .where(
                message_events.c.id > position,
                message_events.c.part_seq.is_(None),
                message_events.c.status.in_(READ),
            )
            .order_by(message_events.c.id)
            .limit(BATCH)
        )
    ).all()
    horizon = now - timedelta(seconds=commit_lag)
    ready = []
    for event in events:
        if commit_lag and event.at > horizon:
            break  # its id may have been handed out before an older one commits
        ready.append(event)
    if not ready:
        return Derived(0, 0)
    last = ready[-1].id
    marked = await _marked_messages(conn, sorted({e.message_id for e in ready}))
    queued = 0
    batches: dict[int, ReportRequest] = {}
    for event in ready:
        message = marked.get(event.message_id)
        if message is None or not _is_final(event.status, message.status_report):
            continue
        request = parse_report_url(message.callback_url)
        if request is None:
            continue
        if request.mode == "summary":
            batches.setdefault(message.batch_id or message.id, request)
            continue
        if request.mode == "failures" and event.status in SUCCESS:
            continue
        error = event.detail or message.error
        outcome = Outcome(message.id, message.recipient, event.status, event.at, error)
        await queue_mail(
            conn,
            to=request.address,
            subject=f"SMS {message.id} to {message.recipient}: {event.status}",
            body=_each_body(outcome, message.text),
            reason=f"report:{message.id}",
        )
        queued += 1
    for batch, request in batches.items():
        if await _summarise(conn, batch, request, position, last):
            queued += 1
    await move_cursor(conn, REPORT_CURSOR, last, now)
    return Derived(len(ready), queued)


async def _marked_messages(conn: AsyncConnection, ids: list[int]) -> dict[int, Any]:
    rows = await conn.execute(
        select(
            messages.c.id,
            messages.c.recipient,
            messages.c.text,
            messages.c.status_report,
            messages.c.callback_url,
            messages.c.batch_id,
            messages.c.error,
        ).where(messages.c.id.in_(ids), messages.c.callback_url.like(SCHEME + "%"))
    )
    return {row.id: row for row in rows}


async def _summarise(
    conn: AsyncConnection, batch: int, request: ReportRequest, position: int, last: int
) -> bool:
    """Queue the batch's summary when its last message became final within (position, last]."""
    members = {
        row.id: row
        for row in await conn.execute(
            select(
                messages.c.id,
                messages.c.recipient,
                messages.c.text,
                messages.c.status_report,
                messages.c.error,
            ).where(
                or_(
                    messages.c.batch_id == batch,
                    and_(messages.c.id == batch, messages.c.batch_id.is_(None)),
                )
            )
        )
    }
    events = await conn.execute(
        select(
            message_events.c.id,
            message_events.c.message_id,
            message_events.c.status,
            message_events.c.detail,
            message_events.c.at,
        )
        .where(
            message_events.c.message_id.in_(list(members)),
            message_events.c.part_seq.is_(None),
            message_events.c.status.in_(READ),
            message_events.c.id <= last,
        )
        .order_by(message_events.c.id)
    )
    first_final: dict[int, int] = {}
    latest: dict[int, Outcome] = {}
    for event in events:
        member = members[event.message_id]
        if not _is_final(event.status, member.status_report):
            continue
        first_final.setdefault(member.id, event.id)
        error = event.detail or member.error
        latest[member.id] = Outcome(member.id, member.recipient, event.status, event.at, error)
    if len(first_final) < len(members) or max(first_final.values()) <= position:
        return False  # not all final yet, or already summarised in an earlier round
    outcomes = [latest[i] for i in sorted(members)]
    counts = Counter(o.status for o in outcomes)
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    text = members[min(members)].text
    await queue_mail(
        conn,
        to=request.address,
        subject=f"SMS report: {tally}",
        body=_summary_body(outcomes, text),
        reason=f"report:batch:{batch}",
    )
    return True


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _quoted_text(text: str) -> str:
    if len(text) > MAX_TEXT_IN_MAIL:
        text = text[: MAX_TEXT_IN_MAIL - 1] + "…"
    return "\n".join("  " + line for line in text.splitlines() or [""])


def _each_body(outcome: Outcome, text: str) -> str:
    lines = [
        "The SMS your mail became has a final outcome.",
        "",
        f"Message:  {outcome.message_id}",
        f"To:       {outcome.recipient}",
        f"Outcome:  {OUTCOME_WORDS.get(outcome.status, outcome.status)}",
        f"At:       {_when(outcome.at)}",
    ]
    if outcome.error and outcome.status not in SUCCESS:
        lines.append(f"Error:    {' '.join(outcome.error.split())}")
    lines += ["", "Text:", _quoted_text(text), ""]
    return "\n".join(lines)


def _summary_body(outcomes: list[Outcome], text: str) -> str:
    lines = [f"Every SMS your mail became has a final outcome ({len(outcomes)} recipients).", ""]
    for outcome in outcomes:
        line = (
            f"{outcome.recipient:<16}  {outcome.status:<9}  {_when(outcome.at)}"
            f"  message {outcome.message_id}"
        )
        if outcome.error and outcome.status not in SUCCESS:
            line += f"  ({' '.join(outcome.error.split())})"
        lines.append(line)
    lines += [
        "",
        "delivered: the phone received it; failed, expired: it did not arrive; unknown: the",
        "gateway cannot tell whether it was sent; cancelled: it was withdrawn before sending.",
        "",
        "Text:",
        _quoted_text(text),
        "",
    ]
    return "\n".join(lines)
