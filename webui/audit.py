"""The audit log: who sent, cancelled or changed what, written in the same transaction as the
change itself so the record and the deed commit together."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import audit_log, utc_now


async def record(
    conn: AsyncConnection,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    client_address: str | None = None,
) -> None:
    """Append one entry; ``action`` is a stable dotted name such as ``message.cancel``."""
    await conn.execute(
        insert(audit_log).values(
            at=utc_now(),
            actor=actor[:100],
            action=action[:64],
            target=target[:200] if target else None,
            detail=detail,
            client_address=client_address[:64] if client_address else None,
        )
    )
