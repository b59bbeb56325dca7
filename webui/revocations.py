"""Ending access at once in every web process: announcements on the bus channel
:data:`~gatewayd.events.ACCESS`, and the listener each web process runs.

The database is the truth (a request is always checked against it); the bus only makes the
web processes act on a change at once rather than at their next check:

- ``sessions.ended`` (a user signed out, changed password or role, was disabled or locked):
  open live streams (``/events``) of that user re-check their session and close when it ended;
- ``api_key.revoked``: the key leaves the key cache, and its live streams close;
- ``account.changed``: the client account leaves the account cache (a revoked account's keys
  stop working, new limits apply), and its keys' live streams close when it was revoked.

An announcement carries only an id and makes listeners *re-check the database*, so a forged one
on Redis can close nothing that is still valid. With no Redis the bus is in-process; a change
made by another process (the command line) is then seen by live streams at their periodic check
(:data:`webui.live.RECHECK_SECONDS`) and by the key cache within its TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from gatewayd.bus import Bus
from gatewayd.events import ACCESS, AccessEvent, AccountChanged, KeyRevoked, SessionsEnded
from webui.keys import ACCOUNTS, BUS, KEY_CACHE
from webui.live import LIVE_STREAMS

log = structlog.get_logger("webui.auth")


async def announce_sessions_ended(bus: Bus, user_id: int) -> None:
    """Call after the transaction that ended sessions of ``user_id`` committed."""
    await bus.publish(ACCESS, SessionsEnded(user_id=user_id))


async def announce_key_revoked(bus: Bus, key_id: int) -> None:
    await bus.publish(ACCESS, KeyRevoked(key_id=key_id))


async def announce_account_changed(bus: Bus, account_id: int) -> None:
    await bus.publish(ACCESS, AccountChanged(account_id=account_id))


async def _handle(app: web.Application, event: AccessEvent) -> None:
    if isinstance(event, KeyRevoked):
        app[KEY_CACHE].forget_key(event.key_id)
        await app[LIVE_STREAMS].recheck("api_key", event.key_id)
    elif isinstance(event, AccountChanged):
        app[ACCOUNTS].forget(event.account_id)
        await app[LIVE_STREAMS].recheck_keys_of(event.account_id)
    else:
        await app[LIVE_STREAMS].recheck("user", event.user_id)


async def _listen(app: web.Application) -> None:
    subscription = app[BUS].subscribe(ACCESS)
    try:
        async for event in subscription:
            try:
                await _handle(app, event)
            except Exception:  # one bad check must not stop the listener
                log.exception("Access announcement not applied", announcement=event)
    finally:
        app[BUS].unsubscribe(subscription)


async def access_listener(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: listen to :data:`~gatewayd.events.ACCESS` while the application runs."""
    task = asyncio.get_running_loop().create_task(_listen(app), name="access-listener")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
