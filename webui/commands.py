"""Asking gatewayd to do something with a modem (USSD, restart) over the bus, and waiting for
its answer.

One :class:`CommandClient` per web process: its reply channel is subscribed once, at start,
so an answer that comes back faster than a new subscription could be set up is never lost.
Each command goes to :data:`~gatewayd.events.COMMANDS` sealed with the installation's key
(:mod:`gatewayd.commands`) and naming that reply channel; only a sealed answer naming the
command's nonce counts, anything else on the channel is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from gatewayd.bus import Bus, Subscription
from gatewayd.commands import Refused, open_sealed, seal_event
from gatewayd.events import (
    ANSWER_KINDS,
    COMMANDS,
    Command,
    CommandAnswer,
    EventError,
    RestartCommand,
    Sealed,
    UssdCommand,
    new_reply_channel,
)

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
        self.replies = new_reply_channel()
        self._waiting: dict[str, asyncio.Future[CommandAnswer]] = {}
        self._subscription: Subscription[Sealed] | None = None
        self._reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._subscription = self.bus.subscribe(self.replies)
        self._reader = asyncio.create_task(self._read(self._subscription), name="command-answers")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._subscription is not None:
            self.bus.unsubscribe(self._subscription)
        self._reader = self._subscription = None

    async def ussd(self, modem: str, code: str, timeout: float) -> CommandAnswer:
        """Dial ``code`` on ``modem``; the answer's ``text`` is the network's reply."""
        return await self._ask(
            UssdCommand(modem=modem, code=code, reply_to=self.replies.name), timeout
        )

    async def restart(self, modem: str, timeout: float) -> CommandAnswer:
        return await self._ask(RestartCommand(modem=modem, reply_to=self.replies.name), timeout)

    async def _ask(self, command: Command, timeout: float) -> CommandAnswer:
        """Send ``command`` (naming this client's reply channel) and return gatewayd's
        successful answer."""
        if self._reader is None:
            self.start()
        sealed = seal_event(self.key, command)
        nonce = str(sealed.envelope["nonce"])
        answer_arrived: asyncio.Future[CommandAnswer] = asyncio.get_running_loop().create_future()
        self._waiting[nonce] = answer_arrived
        try:
            await self.bus.publish(COMMANDS, sealed)
            answer = await asyncio.wait_for(answer_arrived, timeout)
        except TimeoutError:
            raise CommandTimeout(f"gatewayd did not answer within {timeout:g} s") from None
        finally:
            del self._waiting[nonce]
        if not answer.ok:
            raise CommandFailed(answer.error or "")  # empty: the page says it its way
        return answer

    async def _read(self, subscription: Subscription[Sealed]) -> None:
        async for sealed in subscription:
            try:
                _, answer = open_sealed(self.key, sealed, ANSWER_KINDS)
            except Refused as refusal:
                log.warning("Ignored an answer to an operator command", reason=refusal.reason)
                continue
            except EventError as error:
                log.warning("Ignored an answer to an operator command", reason=str(error))
                continue
            waiting = self._waiting.get(answer.in_reply_to)
            if waiting is not None and not waiting.done():
                waiting.set_result(answer)
