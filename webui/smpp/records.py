"""The SMPP side of stored messages: ``smpp_submits`` rows written in the transaction of the
messages they describe, and what ``query_sm`` and ``cancel_sm`` read and change. Only
messages an account queued over SMPP are visible to it here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue import CannotCancel, cancel
from gatewayd.queue.bulk import BulkInsert
from gatewayd.store import message_parts, messages, smpp_submits
from webui.audit import record
from webui.services.group_commit import SideRows
from webui.smpp.submission import Address, Extras

SUBMIT_COLUMNS = (
    "message_id",
    "account_id",
    "registered_delivery",
    "source_addr",
    "source_addr_ton",
    "source_addr_npi",
    "destination_addr",
    "dest_addr_ton",
    "dest_addr_npi",
    "data_coding",
    "esm_class",
    "service_type",
    "user_message_reference",
)


_insert_submits = BulkInsert(smpp_submits, SUBMIT_COLUMNS)


def submits_rows(account_id: int, extras: Extras, destinations: Sequence[Address]) -> SideRows:
    """The ``smpp_submits`` rows of a submit, written in its messages' transaction (one insert
    for a whole group of submits): ``destinations[i]`` is the address message ``i`` went to."""
    source = extras.source

    def rows(ids: list[int]) -> list[tuple[Any, ...]]:
        return [
            (
                message_id,
                account_id,
                extras.registered_delivery,
                source.address,
                source.ton,
                source.npi,
                destination.address,
                destination.ton,
                destination.npi,
                extras.data_coding,
                extras.esm_class,
                extras.service_type,
                extras.user_message_reference,
            )
            for message_id, destination in zip(ids, destinations, strict=True)
        ]

    return SideRows(_insert_submits, rows)


@dataclass(frozen=True)
class MessageState:
    """What ``query_sm`` answers about one message."""

    id: int
    status: str
    ever_sent: bool
    final_at: datetime | None
    error_code: int


FINAL = ("delivered", "failed", "expired", "cancelled", "unknown")


async def state_of(conn: AsyncConnection, account_id: int, message_id: int) -> MessageState | None:
    """The state of a message this account queued over SMPP; None when it did not."""
    row = (
        await conn.execute(
            select(
                messages.c.id,
                messages.c.status,
                messages.c.sent_at,
                messages.c.updated_at,
                messages.c.delivered_at,
            )
            .join(smpp_submits, smpp_submits.c.message_id == messages.c.id)
            .where(messages.c.id == message_id, smpp_submits.c.account_id == account_id)
        )
    ).first()
    if row is None:
        return None
    return MessageState(
        id=row.id,
        status=row.status,
        ever_sent=row.sent_at is not None,
        final_at=(row.delivered_at or row.updated_at) if row.status in FINAL else None,
        error_code=await report_status(conn, message_id),
    )


async def report_status(conn: AsyncConnection, message_id: int) -> int:
    """The highest TP-ST of the message's status reports (0 when none came): the ``err``
    of receipts and ``error_code`` of ``query_sm_resp``."""
    found = (
        await conn.execute(
            select(func.max(message_parts.c.report_status)).where(
                message_parts.c.message_id == message_id
            )
        )
    ).scalar_one_or_none()
    return int(found or 0)


async def cancel_queued(
    conn: AsyncConnection, account_id: int, message_id: int, *, actor: str, client: str
) -> str | None:
    """Cancel a message of this account still waiting in the queue: None when done, else why
    not (``not_found``, or ``too_late``)."""
    owned = (
        await conn.execute(
            select(smpp_submits.c.message_id).where(
                smpp_submits.c.message_id == message_id, smpp_submits.c.account_id == account_id
            )
        )
    ).first()
    if owned is None:
        return "not_found"
    try:
        await cancel(conn, message_id, by=actor)
    except CannotCancel:
        return "too_late"
    await record(conn, actor, "message.cancel", f"message:{message_id}", None, client)
    return None


async def queued_matching(
    conn: AsyncConnection, account_id: int, source: str, destination: str | None
) -> list[int]:
    """Queued messages of this account from ``source`` (as the client wrote it), to
    ``destination`` when given: what a ``cancel_sm`` without message_id names."""
    query: Any = (
        select(messages.c.id)
        .join(smpp_submits, smpp_submits.c.message_id == messages.c.id)
        .where(
            smpp_submits.c.account_id == account_id,
            smpp_submits.c.source_addr == source,
            messages.c.status == "queued",
        )
        .order_by(messages.c.id)
        .limit(10_000)
    )
    if destination:
        query = query.where(smpp_submits.c.destination_addr == destination)
    return [row.id for row in await conn.execute(query)]
