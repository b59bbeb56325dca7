"""Incoming SMS: stored once, reassembled across restarts, never lost.

A part is committed to the database before the modem's copy is deleted (the caller deletes
after this module's transaction commits). Concatenated parts wait in ``incoming_fragments``
until all have come, so a restart between parts loses nothing; a message whose last part never
comes is stored as it is, the gaps marked, once the reassembly timeout has passed. The same SMS
read twice (a crash between commit and delete) is recognised by its dedupe key and kept once.
A stored message that is an opt-out or opt-in word is acted on in the same transaction
(:mod:`gatewayd.queue.opt_words`), so exactly once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.opt_words import apply_opt_words
from gatewayd.sms import Deliver
from gatewayd.store import incoming_fragments, incoming_messages, utc_now
from gatewayd.store.upsert import insert_ignoring_duplicates


@dataclass(frozen=True)
class ReceivedMessage:
    id: int
    sender: str
    text: str
    modem: str
    received_at: datetime


def deliver_text(deliver: Deliver) -> str:
    if deliver.text is not None:
        return deliver.text
    data = deliver.data or b""
    return f"[binary data, {len(data)} octets: {data.hex().upper()}]"


def dedupe_key(imsi: str, sender: str, scts: datetime, ref: int | None, text: str) -> str:
    material = f"{imsi}\x1f{sender}\x1f{scts.isoformat()}\x1f{ref}\x1f{text}"
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


async def store_incoming(
    conn: AsyncConnection,
    deliver: Deliver,
    *,
    modem: str,
    imsi: str | None,
    now: datetime,
) -> ReceivedMessage | None:
    """Keep one received part; the whole message when it is now complete, else None."""
    scts = deliver.scts or now
    text = deliver_text(deliver)
    concat = deliver.concat
    if concat is None or concat.total <= 1:
        return await _store_message(
            conn,
            sender=deliver.sender,
            text=text,
            modem=modem,
            imsi=imsi or "",
            smsc=deliver.smsc,
            scts=scts,
            ref=None,
            total=None,
        )
    await _serialise_reassembly(conn, imsi or "", deliver.sender, concat.ref, concat.total)
    await insert_ignoring_duplicates(
        conn,
        incoming_fragments,
        {
            "modem": modem,
            "modem_imsi": imsi or "",
            "sender": deliver.sender,
            "concat_ref": concat.ref,
            "total": concat.total,
            "seq": concat.seq,
            "text": text,
            "scts": scts,
            "smsc": deliver.smsc,
            "received_at": now,
        },
    )
    fragments = await _fragments(conn, imsi or "", deliver.sender, concat.ref, concat.total)
    if len(fragments) < concat.total:
        return None
    return await _assemble(conn, fragments, modem=modem)


async def _serialise_reassembly(
    conn: AsyncConnection, imsi: str, sender: str, ref: int, total: int
) -> None:
    """On PostgreSQL, parts of one message stored by concurrent transactions must not each see
    only their own fragment (then nobody assembles): hold a lock on the message until commit.
    SQLite has a single writer already."""
    if conn.dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"{imsi}\x1f{sender}\x1f{ref}\x1f{total}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    await conn.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def _fragments(
    conn: AsyncConnection, imsi: str, sender: str, ref: int, total: int
) -> list[Row[Any]]:
    rows = await conn.execute(
        select(incoming_fragments)
        .where(
            incoming_fragments.c.modem_imsi == imsi,
            incoming_fragments.c.sender == sender,
            incoming_fragments.c.concat_ref == ref,
            incoming_fragments.c.total == total,
        )
        .order_by(incoming_fragments.c.seq)
    )
    return list(rows.all())


async def _assemble(
    conn: AsyncConnection, fragments: list[Row[Any]], *, modem: str
) -> ReceivedMessage | None:
    rows = list(fragments)
    first = rows[0]
    total: int = first.total
    by_seq = {row.seq: row.text for row in rows}
    pieces = [by_seq.get(seq, f" [part {seq} of {total} missing] ") for seq in range(1, total + 1)]
    text = "".join(pieces)
    received = await _store_message(
        conn,
        sender=first.sender,
        text=text,
        modem=modem,
        imsi=first.modem_imsi,
        smsc=first.smsc,
        scts=min(row.scts for row in rows),
        ref=first.concat_ref,
        total=total,
    )
    await conn.execute(
        delete(incoming_fragments).where(incoming_fragments.c.id.in_([row.id for row in rows]))
    )
    return received


async def _store_message(
    conn: AsyncConnection,
    *,
    sender: str,
    text: str,
    modem: str,
    imsi: str,
    smsc: str | None,
    scts: datetime,
    ref: int | None,
    total: int | None,
) -> ReceivedMessage | None:
    new_id = await insert_ignoring_duplicates(
        conn,
        incoming_messages,
        {
            "sender": sender,
            "text": text,
            "modem": modem,
            "modem_imsi": imsi or None,
            "smsc": smsc,
            "received_at": scts,
            "concat_ref": ref,
            "concat_total": total,
            "dedupe_key": dedupe_key(imsi, sender, scts, ref, text),
        },
    )
    if new_id is None:
        return None
    await apply_opt_words(conn, sender=sender, text=text, now=utc_now())
    return ReceivedMessage(new_id, sender, text, modem, scts)


async def flush_stale_fragments(
    conn: AsyncConnection, *, older_than: timedelta, now: datetime
) -> list[ReceivedMessage]:
    """Store incomplete multipart messages whose newest part is older than ``older_than``."""
    rows = (await conn.execute(select(incoming_fragments).order_by(incoming_fragments.c.seq))).all()
    groups: dict[tuple[str, str, int, int], list[Row[Any]]] = {}
    for row in rows:
        key = (row.modem_imsi, row.sender, row.concat_ref, row.total)
        groups.setdefault(key, []).append(row)
    stored = []
    for fragments in groups.values():
        newest = max(f.received_at for f in fragments)
        if newest > now - older_than:
            continue
        modem: str = fragments[0].modem
        received = await _assemble(conn, fragments, modem=modem)
        if received is not None:
            stored.append(received)
    return stored
