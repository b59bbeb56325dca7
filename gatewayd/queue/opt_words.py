"""Opt-out by SMS: an incoming text that is a stop word puts its sender on the opt-out list
and queues the confirmation once; a start word takes the sender off and confirms that.

Called by :mod:`gatewayd.queue.inbox` in the transaction that stores the incoming message, so
a message is acted on exactly once whatever crashes or how many daemons run: a repeated STOP
finds the number already listed and sends nothing. Senders that are not phone numbers
(alphanumeric names, short codes) are never listed or answered.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.numbers import InvalidNumber, normalise
from gatewayd.queue.enqueue import InvalidMessage, NewMessage, enqueue, prepare
from gatewayd.queue.suppression import load_settings
from gatewayd.store import SuppressionKind, audit_log, suppressions
from gatewayd.store.upsert import insert_ignoring_duplicates

ACTOR_PREFIX = "sms:"


async def apply_opt_words(conn: AsyncConnection, *, sender: str, text: str, now: datetime) -> bool:
    """Act on ``text`` if it is an opt-out or opt-in word; whether it was one."""
    settings = await load_settings(conn)
    kind = settings.word_of(text)
    if kind is None:
        return False
    try:
        number = normalise(sender)
    except InvalidNumber:
        return True  # a word, but from no number that could be listed or answered
    actor = ACTOR_PREFIX + number
    if kind is SuppressionKind.OPT_OUT:
        row = {
            "number": number,
            "kind": SuppressionKind.OPT_OUT.value,
            "prefix": False,
            "source": "sms",
            "note": text[:64],
            "created_at": now,
            "created_by": actor,
        }
        changed = await insert_ignoring_duplicates(conn, suppressions, row) is not None
        action, reply = "optout.add", settings.stop_reply
    else:
        s = suppressions.c
        result = await conn.execute(
            delete(suppressions).where(
                s.number == number, s.kind == SuppressionKind.OPT_OUT.value, s.prefix.is_(False)
            )
        )
        changed = result.rowcount > 0
        action, reply = "optout.remove", settings.start_reply
    if not changed:
        return True
    await conn.execute(
        insert(audit_log).values(
            at=now, actor=actor, action=action, target=number, detail={"source": "sms"}
        )
    )
    if reply.strip():
        try:
            confirmation = prepare(NewMessage(to=number, text=reply), now=now)
        except InvalidMessage:
            return True  # a reply text the operator made unsendable: the list still changed
        await enqueue(conn, [confirmation], created_by=actor, now=now, exempt=[number])
    return True
