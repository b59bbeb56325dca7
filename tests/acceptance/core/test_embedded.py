"""The first minute: ``gatewayd run --simulate 2`` on SQLite in an empty folder, ``gatewayd
send`` and ``gatewayd show`` beside it; how fast a message from the shell reaches an idle modem;
one-line errors for user mistakes."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from gatewayd.store import Database, incoming_messages, message_parts, messages
from tests.acceptance.core.procs import (
    Daemon,
    environment,
    run_command,
    simulator,
    wait_for,
    write_config,
)
from tests.support.daemons import migrate_here

pytestmark = pytest.mark.acceptance


async def test_embedded_first_minute(tmp_path: Path) -> None:
    env = environment()
    daemon = Daemon(("--simulate", "2"), env, tmp_path / "gatewayd.log", cwd=tmp_path)
    try:
        await daemon.start()
        banner = "".join(daemon.output)
        assert "+5511990000002" in banner
        code, out, err = await run_command(
            "send",
            "--to",
            "+5511990000002",
            "--text",
            "olá do primeiro minuto",
            env=env,
            cwd=tmp_path,
        )
        assert code == 0, err
        message_id = int(out.strip())

        async def shown_delivered() -> dict[str, object] | None:
            code, out, err = await run_command("show", str(message_id), env=env, cwd=tmp_path)
            assert code == 0, err
            shown: dict[str, object] = json.loads(out)
            return shown if shown["status"] == "delivered" else None

        shown = await wait_for(shown_delivered, timeout=30, what="gatewayd show: delivered")
        db = Database(f"sqlite:///{tmp_path / 'data' / 'gateway.db'}")
        try:

            async def received() -> list[object]:
                async with db.read() as conn:
                    return list((await conn.execute(select(incoming_messages))).all())

            [incoming] = await wait_for(received, timeout=15, what="the SMS in the inbox")
            async with db.read() as conn:
                created = (
                    await conn.execute(
                        select(messages.c.created_at).where(messages.c.id == message_id)
                    )
                ).scalar_one()
                handed = (
                    await conn.execute(
                        select(message_parts.c.submitted_at).where(
                            message_parts.c.message_id == message_id
                        )
                    )
                ).scalar_one()
        finally:
            await db.close()
        code, took = await daemon.terminate()
    finally:
        await daemon.ensure_stopped()
    queue_to_cmgs = (handed - created).total_seconds()
    print(f"\nembedded: queued to AT+CMGS in {queue_to_cmgs * 1000:.0f} ms; exit {code}")
    assert shown["parts"][0]["status"] == "delivered"
    assert incoming.text == "olá do primeiro minuto"
    assert incoming.sender == "+5511990000001" and incoming.modem == "sim1"
    assert queue_to_cmgs < 1.0, "the local wake-up beats the poll interval"
    assert code == 0 and took < 5


async def queued_to_cmgs(url: str) -> list[float]:
    """Per message: seconds from the queue row's creation to its part being handed over."""
    db = Database(url)
    try:
        async with db.read() as conn:
            rows = await conn.execute(
                select(messages.c.created_at, message_parts.c.submitted_at)
                .join(message_parts, message_parts.c.message_id == messages.c.id)
                .order_by(messages.c.id)
            )
            return [(row.submitted_at - row.created_at).total_seconds() for row in rows]
    finally:
        await db.close()


@pytest.mark.parametrize("stack", ["sqlite", "postgresql+redis"])
async def test_send_reaches_an_idle_modem_at_once(
    stack: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """``gatewayd send`` to an idle modem with a 5 s poll interval: only the wake-up (local
    socket, or Redis) gets the part to AT+CMGS within a second of being queued."""
    if stack == "sqlite":
        url = f"sqlite:///{tmp_path / 'gw.db'}"
        env = environment(SMSGW_DATABASE_URL=url)
    else:
        url = request.getfixturevalue("pg_url")
        env = environment(
            SMSGW_DATABASE_URL=url, SMSGW_REDIS_URL=request.getfixturevalue("redis_url")
        )
    async with simulator(tmp_path, modems=1, latency_ms=20, report_delay_ms=50) as sim:
        config = write_config(
            tmp_path / "gatewayd.toml",
            host="idle",
            devices=[sim.modems[0]["device"]],
            data_dir=tmp_path / "data",
            poll_interval=5.0,
        )
        daemon = Daemon(("--config", str(config)), env, tmp_path / "gatewayd.log")
        commands = []
        try:
            await daemon.start()
            for i in range(3):
                started = time.monotonic()
                code, _, err = await run_command(
                    "send",
                    "--config",
                    str(config),
                    "--to",
                    f"+551198765432{i}",
                    "--text",
                    f"idle {i}",
                    env=env,
                )
                assert code == 0, err
                commands.append(time.monotonic() - started)
                await wait_for(lambda n=i: len(sim.ledger()) > n, timeout=4, what="the part")
            code, _ = await daemon.terminate()
        finally:
            await daemon.ensure_stopped()
    delays = await queued_to_cmgs(url)
    print(
        f"\n{stack}: queued -> AT+CMGS on an idle modem, median "
        f"{statistics.median(delays) * 1000:.0f} ms; the gatewayd send command itself "
        f"{statistics.median(commands) * 1000:.0f} ms"
    )
    assert [e["text"] for e in sim.ledger()] == ["idle 0", "idle 1", "idle 2"]
    assert max(delays) < 1.0
    assert code == 0


async def test_user_mistakes_are_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    env = environment(SMSGW_DATABASE_URL=url)
    await migrate_here(url)
    bad_number = await run_command("send", "--to", "12345", "--text", "hi", env=env)
    missing = await run_command("show", "99999", env=env)
    for code, out, err in (bad_number, missing):
        assert code == 1
        assert out == ""
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
    assert "to:" in bad_number[2] and "12345" in bad_number[2]
    assert "99999" in missing[2]
