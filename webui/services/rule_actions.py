"""What a matched rule does: reply, forward by SMS or email, call a webhook, add the sender to
or remove it from a group, tag the message. Each action runs in the transaction that moves
the rules' cursor past the message (:mod:`webui.services.rule_runner`), so it is done once.

Loop protection for ``reply``: never to a sender that is not a phone number (alphanumeric
names) or is a short code (:data:`SHORT_CODE_DIGITS` digits or fewer); at most
:data:`MAX_REPLIES_PER_HOUR` replies to one sender an hour; and no reply when another
automatic responder seems to answer ours — the text received is one of our recent replies to
that number, or we replied to it :data:`PING_PONG_REPLIES` times within
:data:`PING_PONG_WINDOW`. What an action could not do goes to the rule's ``last_error``.

Sends, tags and webhook calls of a whole batch of messages are collected in an
:class:`Outcome` and written together by :meth:`Outcome.flush` (one suppression lookup, one
enqueue, one insert per table), and the replies of the last hour to the batch's senders are
read once (:func:`recent_replies`): the cost per message is the matching, not round trips.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.numbers import InvalidNumber, normalise
from gatewayd.queue import InvalidMessage, NewMessage, PreparedMessage
from gatewayd.queue.enqueue import QueueRequest, enqueue_requests, prepare_many
from gatewayd.queue.suppression import refusals
from gatewayd.store import (
    contact_group_members,
    contact_groups,
    contacts,
    incoming_tags,
    rule_replies,
    webhook_deliveries,
)
from gatewayd.store.upsert import insert_ignoring_duplicates
from webui.services.errors import Invalid
from webui.services.mail_outbox import queue_mail
from webui.services.rule_match import Incoming, Rule, fill

SHORT_CODE_DIGITS = 6
MAX_REPLIES_PER_HOUR = 5
PING_PONG_REPLIES = 3
PING_PONG_WINDOW = timedelta(minutes=2)
DEFAULT_FORWARD = "{from}: {text}"
DEFAULT_SUBJECT = "SMS from {from}"
DEFAULT_BODY = "{text}\n\n-- {from}, received by {modem} at {received_at}"
RULE_EVENT = "rule.matched"


@dataclass(frozen=True)
class PlannedSend:
    rule_id: int
    numbers: tuple[str, ...]
    text: str
    reply_to: str | None
    """The sender answered (for ``rule_replies``); None for a forward."""


@dataclass
class Outcome:
    """What the actions of one batch do, collected, and per rule the last problem."""

    recent: dict[str, list[tuple[str, datetime]]] = field(default_factory=dict)
    sends: list[PlannedSend] = field(default_factory=list)
    tags: set[tuple[int, str]] = field(default_factory=set)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    queued: int = 0
    modems: list[str | None] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    async def flush(self, conn: AsyncConnection, *, region: str | None, now: datetime) -> None:
        """Write what was collected: the SMS (suppressed recipients left out), the replies
        made, the tags and the webhook deliveries."""
        await self._flush_sends(conn, region, now)
        if self.tags:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            rows = [{"message_id": m, "tag": t} for m, t in sorted(self.tags)]
            await conn.execute(dialect.insert(incoming_tags).values(rows).on_conflict_do_nothing())
        if self.hooks:
            await conn.execute(insert(webhook_deliveries), self.hooks)

    async def _flush_sends(self, conn: AsyncConnection, region: str | None, now: datetime) -> None:
        planned: list[tuple[PlannedSend, list[PreparedMessage]]] = []
        for send in self.sends:
            try:
                prepared, problems = prepare_many(
                    NewMessage(to="", text=send.text), send.numbers, default_region=region
                )
            except InvalidMessage as exc:
                self.errors[send.rule_id] = f"not sent: {exc}"
                continue
            if problems:
                self.errors[send.rule_id] = f"{len(problems)} invalid recipients left out"
            planned.append((send, prepared))
        refused = await refusals(conn, [p.recipient for _, ps in planned for p in ps])
        requests: list[QueueRequest] = []
        replies: list[dict[str, Any]] = []
        for send, prepared in planned:
            kept = [p for p in prepared if p.recipient not in refused]
            if len(kept) < len(prepared):
                self.errors[send.rule_id] = (
                    f"{len(prepared) - len(kept)} opted-out recipients left out"
                )
            if not kept:
                continue
            requests.append(QueueRequest(kept, f"rule:{send.rule_id}"))
            if send.reply_to is not None:
                replies.append(
                    {"sender": send.reply_to, "rule_id": send.rule_id, "text": send.text, "at": now}
                )
        if not requests:
            return
        await enqueue_requests(conn, requests, now=now)
        self.queued += sum(len(r.messages) for r in requests)
        self.modems.extend(None for r in requests for _ in r.messages)
        if replies:
            await conn.execute(insert(rule_replies), replies)


async def recent_replies(
    conn: AsyncConnection, senders: list[str], now: datetime
) -> dict[str, list[tuple[str, datetime]]]:
    """The replies of the last hour to each of ``senders`` (E.164), in one lookup."""
    found: dict[str, list[tuple[str, datetime]]] = {number: [] for number in senders}
    if not senders:
        return found
    r = rule_replies.c
    rows = await conn.execute(
        select(r.sender, r.text, r.at).where(r.sender.in_(senders), r.at > now - timedelta(hours=1))
    )
    for sender, text, at in rows:
        found.setdefault(sender, []).append((text, at))
    return found


def replyable(sender: str) -> str | None:
    """The sender in E.164 when an automatic reply may go to it, else None."""
    try:
        number = normalise(sender)
    except InvalidNumber:
        return None
    return number if len(number) - 1 > SHORT_CODE_DIGITS else None


def _loop_suspected(
    recent: list[tuple[str, datetime]], number: str, text: str, now: datetime
) -> str | None:
    if len(recent) >= MAX_REPLIES_PER_HOUR:
        return f"no reply to {number}: {MAX_REPLIES_PER_HOUR} replies in the last hour already"
    if any(sent.strip() == text.strip() for sent, _ in recent):
        return f"no reply to {number}: it sent back one of our replies (another auto-responder?)"
    if sum(at > now - PING_PONG_WINDOW for _, at in recent) >= PING_PONG_REPLIES:
        return f"no reply to {number}: it answers as fast as we do (two gateways in a loop?)"
    return None


async def _group_numbers(conn: AsyncConnection, group_id: int) -> list[str] | None:
    exists = await conn.scalar(select(contact_groups.c.id).where(contact_groups.c.id == group_id))
    if exists is None:
        return None
    rows = await conn.execute(
        select(contacts.c.number)
        .select_from(contacts.join(contact_group_members))
        .where(contact_group_members.c.group_id == group_id)
    )
    return [row[0] for row in rows]


async def _membership(
    conn: AsyncConnection, rule: Rule, action: dict[str, Any], number: str | None, outcome: Outcome
) -> None:
    group_id = int(action["group_id"])
    if await _group_numbers(conn, group_id) is None:
        outcome.errors[rule.id] = f"group {group_id} no longer exists"
        return
    if number is None:
        outcome.errors[rule.id] = "the sender is not a phone number"
        return
    contact_id = await conn.scalar(select(contacts.c.id).where(contacts.c.number == number))
    if action["type"] == "remove_from_group":
        if contact_id is not None:
            await conn.execute(
                delete(contact_group_members).where(
                    contact_group_members.c.group_id == group_id,
                    contact_group_members.c.contact_id == contact_id,
                )
            )
        return
    if contact_id is None:
        contact_id = await insert_ignoring_duplicates(
            conn, contacts, {"name": number, "number": number}
        )
        if contact_id is None:
            contact_id = await conn.scalar(select(contacts.c.id).where(contacts.c.number == number))
    await insert_ignoring_duplicates(
        conn, contact_group_members, {"group_id": group_id, "contact_id": contact_id}
    )


async def run_action(
    conn: AsyncConnection,
    rule: Rule,
    action: dict[str, Any],
    message: Incoming,
    outcome: Outcome,
    *,
    region: str | None,
    now: datetime,
) -> None:
    """Do (or plan, for :meth:`Outcome.flush`) one action of ``rule`` for ``message``;
    problems go to ``outcome.errors``."""
    kind = action["type"]
    number = replyable(message.sender)
    if kind == "reply":
        if number is None:
            outcome.errors[rule.id] = f"no reply to {message.sender[:32]}: not a phone number"
            return
        recent = outcome.recent.setdefault(number, [])
        problem = _loop_suspected(recent, number, message.text, now)
        if problem is not None:
            outcome.errors[rule.id] = problem
            return
        text = fill(action["text"], message)
        if text.strip():
            outcome.sends.append(PlannedSend(rule.id, (number,), text, number))
            recent.append((text, now))
    elif kind == "forward_sms":
        numbers = list(action.get("to") or [])
        if action.get("group_id") is not None:
            members = await _group_numbers(conn, int(action["group_id"]))
            if members is None:
                outcome.errors[rule.id] = f"group {action['group_id']} no longer exists"
            numbers.extend(members or [])
        text = fill(action.get("text") or DEFAULT_FORWARD, message)
        if numbers and text.strip():
            outcome.sends.append(PlannedSend(rule.id, tuple(dict.fromkeys(numbers)), text, None))
    elif kind == "forward_email":
        try:
            await queue_mail(
                conn,
                to=action["to"],
                subject=fill(action.get("subject") or DEFAULT_SUBJECT, message),
                body=fill(action.get("body") or DEFAULT_BODY, message),
                reason=f"rule:{rule.id}",
            )
        except Invalid as exc:
            outcome.errors[rule.id] = f"no mail: {exc.message}"
    elif kind == "webhook":
        payload = {
            "event": RULE_EVENT,
            "rule": {"id": rule.id, "name": rule.name},
            "id": message.id,
            "from": message.sender,
            "text": message.text,
            "modem": message.modem,
            "received_at": message.received_at.isoformat(),
        }
        outcome.hooks.append(
            {
                "event": RULE_EVENT,
                "url": action["url"],
                "payload": payload,
                "created_at": now,
                "next_attempt_at": now,
            }
        )
    elif kind in ("add_to_group", "remove_from_group"):
        await _membership(conn, rule, action, number, outcome)
    elif kind == "tag":
        outcome.tags.add((message.id, str(action["tag"])[:64]))
