"""Operator commands over a real Redis: gatewayd acts only on commands sealed with the
installation's key, once, while fresh. A process that can merely publish on Redis (unsigned,
wrongly signed, tampered, stale or replayed commands) restarts no modem, dials no USSD code
and gets no answer; each refusal is logged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis_asyncio

from gatewayd.bus import RedisBus
from gatewayd.commands import command_key, open_envelope, open_sealed, seal
from gatewayd.events import ANSWER_KINDS, COMMANDS, REPLY_PREFIX, Sealed, reply_channel
from tests.integration.core_flow.harness import Flow, eventually, flow
from tests.support.json_logs import json_logs
from webui.commands import CommandClient, CommandFailed

SECRET = "signed-commands-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
KEY = command_key(SECRET)


@pytest.fixture
def json_log(tmp_path: Path) -> Iterator[Path]:
    with json_logs(tmp_path / "app.log") as path:
        yield path


def logged(log_path: Path, event: str) -> list[dict[str, Any]]:
    lines = log_path.read_text().splitlines() if log_path.exists() else []
    return [entry for entry in map(json.loads, lines) if entry.get("event") == event]


def refusals(log_path: Path) -> list[dict[str, Any]]:
    return logged(log_path, "Refused operator command")


async def subscribers(redis_url: str, channel: str) -> int:
    client = redis_asyncio.Redis.from_url(redis_url)
    try:
        [(_, count)] = await client.pubsub_numsub(channel)
        return int(count)
    finally:
        await client.aclose()


@asynccontextmanager
async def web_side(redis_url: str) -> AsyncIterator[CommandClient]:
    """What a web process holds: a command client whose reply channel is subscribed."""
    bus = RedisBus(redis_url)
    client = CommandClient(bus, KEY)
    client.start()
    try:
        await eventually(
            lambda: subscribers(redis_url, client.replies.name),
            timeout=10,
            what="the web side's reply channel",
        )
        yield client
    finally:
        await client.close()
        await bus.close()


@pytest.fixture
async def gateway(
    sqlite_url: str, redis_url: str, tmp_path: Path, json_log: Path
) -> AsyncIterator[Flow]:
    """gatewayd (one simulated modem) on Redis, knowing the installation's secret key."""
    async with flow(sqlite_url, tmp_path, modems=1, bus=RedisBus(redis_url), start=False) as f:
        f.settings = replace(f.settings, web=replace(f.settings.web, secret_key=SECRET))
        await f.start()
        await eventually(
            lambda: subscribers(redis_url, COMMANDS.name),
            timeout=10,
            what="gatewayd listening for commands",
        )
        await eventually(
            lambda: asyncio.sleep(0, logged(json_log, "Modem online")),
            timeout=20,
            what="sim0 online",
        )
        yield f


async def test_only_sealed_fresh_first_copies_are_obeyed(
    gateway: Flow, redis_url: str, json_log: Path
) -> None:
    outsider = redis_asyncio.Redis.from_url(redis_url)
    listener = RedisBus(redis_url)
    try:
        replies = listener.subscribe(reply_channel(f"{REPLY_PREFIX}outsider"))
        commands_seen = listener.subscribe(COMMANDS)

        async def listening() -> bool:
            return (
                await subscribers(redis_url, f"{REPLY_PREFIX}outsider") == 1
                and await subscribers(redis_url, COMMANDS.name) == 2
            )

        await eventually(listening, timeout=5, what="the test's listeners")

        restart = {"type": "modem.restart", "modem": "sim0", "reply_to": f"{REPLY_PREFIX}outsider"}
        ussd = {
            "type": "ussd",
            "modem": "sim0",
            "code": "*100#",
            "reply_to": f"{REPLY_PREFIX}outsider",
        }
        stranger_key = command_key("another installation's secret key, 0123456789abcdef")
        genuine = seal(KEY, ussd)
        hostile = [
            ("unsigned", restart),
            ("unsigned", ussd),
            ("bad_signature", seal(stranger_key, restart)),
            ("bad_signature", {**genuine, "body": {**ussd, "code": "*144*1#"}}),
            ("stale", seal(KEY, restart, now=genuine["issued_ms"] / 1000 - 600)),
        ]
        for _, message in hostile:
            await outsider.publish(COMMANDS.name, json.dumps(message))

        async def all_refused() -> list[dict[str, Any]] | None:
            found = refusals(json_log)
            return found if len(found) >= len(hostile) else None

        refused = await eventually(all_refused, timeout=10, what="the refusals logged")
        assert [entry["reason"] for entry in refused] == [reason for reason, _ in hostile]
        assert {entry["modem"] for entry in refused} == {"sim0"}
        assert await replies.get(timeout=0.05) is None, "a refused command was answered"

        # The web UI's own path works; a copy of its command, published again, is refused.
        async with web_side(redis_url) as web:
            answer = await web.ussd("sim0", "*100#", 20)
        assert answer.ok and answer.text
        seen = [await commands_seen.get(timeout=5) for _ in range(len(hostile) + 1)]
        captured = seen[-1]
        assert captured is not None and open_envelope(KEY, captured.envelope)[1]["type"] == "ussd"
        await outsider.publish(COMMANDS.name, json.dumps(captured.envelope))
        replayed = await eventually(
            lambda: asyncio.sleep(0, refusals(json_log)[len(hostile) :]),
            timeout=10,
            what="the replay refused",
        )
        assert [entry["reason"] for entry in replayed] == ["replayed"]
        assert len(logged(json_log, "Modem online")) == 1, "a refused restart was obeyed"

        async with web_side(redis_url) as web:
            await web.restart("sim0", 20)
        await eventually(
            lambda: asyncio.sleep(0, len(logged(json_log, "Modem online")) == 2),
            timeout=20,
            what="sim0 back online after the genuine restart",
        )
    finally:
        await outsider.aclose()
        await listener.close()


async def test_a_forged_answer_is_ignored(redis_url: str) -> None:
    """Whoever answers a command must hold the key too: the web side waits for a sealed
    answer naming its command and ignores anything else."""
    forger = RedisBus(redis_url)
    try:
        commands = forger.subscribe(COMMANDS)
        await eventually(lambda: subscribers(redis_url, COMMANDS.name), timeout=5, what="forger")

        async def forge_then_answer() -> None:
            sealed = await commands.get(timeout=10)
            assert sealed is not None
            nonce, body = open_envelope(KEY, sealed.envelope)
            reply_to = reply_channel(str(body["reply_to"]))
            for forged in (
                {"ok": True, "text": "forged, unsigned"},
                seal(
                    command_key("x" * 40),
                    {"in_reply_to": nonce, "ok": True, "text": "forged, other key"},
                ),
                seal(
                    KEY, {"in_reply_to": "0" * 32, "ok": True, "text": "answer to another command"}
                ),
                seal(KEY, {"in_reply_to": nonce, "ok": "yes", "text": "not an answer"}),
                seal(KEY, {"in_reply_to": nonce, "ok": False, "error": "modem sim0 is offline"}),
            ):
                await forger.publish(reply_to, Sealed(envelope=forged))

        async with web_side(redis_url) as web:
            responder = asyncio.create_task(forge_then_answer())
            with pytest.raises(CommandFailed, match="modem sim0 is offline"):
                await web.ussd("sim0", "*100#", 10)
            await responder
    finally:
        await forger.close()


async def test_a_genuine_command_gatewayd_does_not_know_is_answered(
    gateway: Flow, redis_url: str
) -> None:
    """A newer web UI's command, genuine but not understood here: its sender hears why at once
    instead of waiting for the timeout."""
    web = RedisBus(redis_url)
    try:
        replies_to = reply_channel(f"{REPLY_PREFIX}newer-web")
        replies = web.subscribe(replies_to)
        await eventually(
            lambda: subscribers(redis_url, replies_to.name), timeout=5, what="the reply channel"
        )
        body = {"type": "modem.selfdestruct", "modem": "sim0", "reply_to": replies_to.name}
        envelope = seal(KEY, body)
        await web.publish(COMMANDS, Sealed(envelope=envelope))
        sealed = await replies.get(timeout=10)
        assert sealed is not None, "no answer"
        _, answer = open_sealed(KEY, sealed, ANSWER_KINDS)
        assert answer.in_reply_to == envelope["nonce"] and not answer.ok
        assert "unknown event type 'modem.selfdestruct'" in str(answer.error)
    finally:
        await web.close()
