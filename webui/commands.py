"""Asking gatewayd to do something with a modem (USSD, restart) over the bus, and waiting for
its answer.

One :class:`CommandClient` per web process: its reply channel is subscribed once, at start,
so an answer that comes back faster than a new subscription could be set up is never lost.
Each command goes to :data:`~gatewayd.commands.COMMANDS` sealed with the installation's key
(:mod:`gatewayd.commands`) and naming that reply channel; only a sealed answer naming the
command's nonce counts, anything else on the channel is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import structlog

from gatewayd.bus import Bus, Subscription
from gatewayd.commands import COMMANDS, REPLY_PREFIX, Refused, open_envelope, seal

log = structlog.get_logger(__name__)


class CommandTimeout(Exception):
    """gatewayd did not answer in time (not running, or the modem is stuck)."""


class CommandFailed(Exception):
    """gatewayd answered with an error; ``str()`` is its one-line reason."""


class CommandClient:
    """Sends sealed commands and matches gatewayd's sealed answers to them."""

    def __init__(self, bus: Bus, key: bytes) -> None:
        self.bus = bus
        self.key = key
        self.reply_to = f"{REPLY_PREFIX}{uuid.uuid4().hex}"
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._subscription: Subscription | None = None
        self._reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._subscription = self.bus.subscribe(self.reply_to)
        self._reader = asyncio.create_task(self._read(self._subscription), name="command-answers")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._subscription is not None:
            self.bus.unsubscribe(self._subscription)
        self._reader = self._subscription = None

    async def ask(self, command: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``command`` and return gatewayd's successful answer."""
        if self._reader is None:
            self.start()
        envelope = seal(self.key, {**command, "reply_to": self.reply_to})
        nonce = envelope["nonce"]
        answer_arrived: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[nonce] = answer_arrived
        try:
            await self.bus.publish(COMMANDS, envelope)
            answer = await asyncio.wait_for(answer_arrived, timeout)
        except TimeoutError:
            raise CommandTimeout(f"gatewayd did not answer within {timeout:g} s") from None
        finally:
            del self._waiting[nonce]
        if not answer.get("ok"):
            raise CommandFailed(str(answer.get("error") or ""))  # empty: the page says it its way
        return answer

    async def _read(self, subscription: Subscription) -> None:
        async for message in subscription:
            try:
                _, answer = open_envelope(self.key, message)
            except Refused as refusal:
                log.warning("Ignored an answer to an operator command", reason=refusal.reason)
                continue
            waiting = self._waiting.get(str(answer.get("in_reply_to")))
            if waiting is not None and not waiting.done():
                waiting.set_result(answer)
