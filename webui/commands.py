"""Asking gatewayd to do something with a modem (USSD, restart) over the bus, and waiting for
its answer.

The request goes to :data:`COMMANDS` with a fresh ``reply_to`` channel; the reply channel is
subscribed before the request is published so a fast answer cannot be missed.
"""

from __future__ import annotations

import uuid
from typing import Any

from gatewayd.bus import InProcessBus

COMMANDS = "smsgw:commands"
"""Channel gatewayd listens on for modem commands."""
REPLY_PREFIX = "smsgw:reply:"


class CommandTimeout(Exception):
    """gatewayd did not answer in time (not running, or the modem is stuck)."""


class CommandFailed(Exception):
    """gatewayd answered with an error; ``str()`` is its one-line reason."""


async def ask_gatewayd(bus: InProcessBus, command: dict[str, Any], timeout: float) -> Any:
    """Send ``command`` and return the ``text`` (or whole answer) of a successful reply."""
    reply_to = f"{REPLY_PREFIX}{uuid.uuid4().hex}"
    subscription = bus.subscribe(reply_to)
    try:
        await bus.publish(COMMANDS, {**command, "reply_to": reply_to})
        answer = await subscription.get(timeout)
    finally:
        bus.unsubscribe(subscription)
    if answer is None:
        raise CommandTimeout(f"gatewayd did not answer within {timeout:g} s")
    if not answer.get("ok"):
        raise CommandFailed(str(answer.get("error") or "gatewayd reported a failure"))
    return answer
