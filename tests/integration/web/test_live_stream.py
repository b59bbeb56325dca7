"""``GET /events`` sends browsers the live events of the bus as Server-Sent Events: the event's
type as SSE ``event`` and its wire form as ``data``; events meant only for processes stay off."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from aiohttp import ClientResponse

from gatewayd.events import (
    EVENTS,
    MessageReceived,
    MessageStatusChanged,
    ModemLowBalance,
    ModemRecovery,
    ModemState,
    to_wire,
)
from tests.integration.web.conftest import WebEnv, login
from webui.keys import BUS

AT = datetime(2026, 12, 1, 12, 0, 3, tzinfo=UTC)


async def next_message(stream: ClientResponse) -> tuple[str, str]:
    """``(event, data)`` of the next SSE message that is not a keep-alive ping."""
    while True:
        block = await asyncio.wait_for(stream.content.readuntil(b"\r\n\r\n"), 5)
        fields = dict(
            line.split(": ", 1) for line in block.decode().strip().splitlines() if ": " in line
        )
        if "event" in fields:
            return fields["event"], fields.get("data", "")


async def test_live_events_reach_the_browser_in_their_wire_form(web: WebEnv) -> None:
    assert (await login(web.client, "viewer")).status == 303
    stream = await web.client.get("/events")
    assert stream.status == 200
    assert (await next_message(stream))[0] == "ready"
    sent = [
        ModemRecovery(name="sim0", step="probe", reason="no answer"),
        ModemState(name="sim0", state="online", signal=-71, operator="Claro", registration="home"),
        ModemLowBalance(name="sim0", balance=1.5, threshold=20.0),
        MessageStatusChanged(id=42, status="delivered", error=None, at=AT),
        MessageReceived(id=7, sender="+5511987654321", text="olá", modem="sim0", received_at=AT),
    ]
    for event in sent:
        await web.app[BUS].publish(EVENTS, event)
    heard = [await next_message(stream) for _ in range(3)]
    assert [(kind, json.loads(data)) for kind, data in heard] == [
        (event.TYPE, to_wire(event))
        for event in sent
        if not isinstance(event, ModemRecovery | ModemLowBalance)
    ]
    assert json.loads(heard[0][1]) == {
        "type": "modem.state",
        "version": 1,
        "name": "sim0",
        "state": "online",
        "error": None,
        "signal": -71,
        "operator": "Claro",
        "registration": "home",
    }
    stream.close()
