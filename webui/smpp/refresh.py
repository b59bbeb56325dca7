"""Keeping binds in step with their accounts: every ``interval`` seconds the accounts of the
bound connections are read again, so a changed limit, quota or set of allowed modems applies
to the next submit, and the binds of an account that was revoked (or that lost its SMPP
access) are unbound."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import structlog
from sqlalchemy import select

from gatewayd.store import Database, DatabaseUnavailable, accounts
from webui.services.accounts import account_from_row
from webui.smpp.operations import Bound
from webui.smpp.server import BindRegistry

log = structlog.get_logger("webui.smpp")

STOP_GRACE = 5.0


async def refresh_binds(db: Database, registry: BindRegistry) -> int:
    """Read the bound accounts again; the number of binds unbound for a revoked account."""
    bound = [c for c in registry.bound_connections() if isinstance(c.bound_as, Bound)]
    ids = sorted({c.account_id for c in bound if c.account_id is not None})
    if not ids:
        return 0
    async with db.read() as conn:
        rows = await conn.execute(select(accounts).where(accounts.c.id.in_(ids)))
        fresh = {row.id: account_from_row(row) for row in rows}
    ended = []
    for connection in bound:
        account = fresh.get(connection.account_id or 0)
        if account is None or account.revoked or not account.smpp_enabled:
            log.info(
                "SMPP bind of a revoked account unbound",
                system_id=connection.system_id,
                peer=connection.peer,
            )
            ended.append(connection.stop(STOP_GRACE))
            continue
        assert isinstance(connection.bound_as, Bound)
        connection.bound_as = replace(connection.bound_as, account=account)
    await asyncio.gather(*ended)
    return len(ended)


async def keep_refreshing(db: Database, registry: BindRegistry, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await refresh_binds(db, registry)
        except DatabaseUnavailable as exc:
            log.warning("SMPP binds not refreshed: database unavailable", reason=str(exc))
        except Exception:
            log.exception("SMPP binds not refreshed")
