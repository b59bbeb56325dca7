"""The SMPP benchmark's Kannel peer: Kannel's bearerbox as an ESME through our server (Jasmin's
SMPP server is :mod:`bench.jasmin_peer`). Returns a result entry; when Kannel is not installed
it says so in one line (``measured`` False, ``note``).

Kannel: ``gatewayd run --web --simulate 4`` serves SMPP in the daemon's process on an SQLite
database and sends through its simulated modems; bearerbox + smsbox (the configuration of
``tests/peers``) bind to it as a transceiver, and messages go in through smsbox's
``/cgi-bin/sendsms``, 20 requests at a time. Figures: messages accepted (committed) by us per
second, from the first ``sendsms`` to the last message in our queue, and end to end, to the
last one sent by a modem.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bench.common import gatewayd_argv, say
from bench.procs import Proc
from bench.stack import recipient, work_directory
from gatewayd.store import Database, messages

KANNEL_CONCURRENCY = 20
SIMULATED_MODEMS = 4


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _listening(port: int, proc: Proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        if not proc.running:
            break
        await asyncio.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}: {proc.output()}")


async def _count(db: Database, *statuses: str) -> int:
    query = select(func.count()).select_from(messages)
    if statuses:
        query = query.where(messages.c.status.in_(statuses))
    async with db.read() as conn:
        return int((await conn.execute(query)).scalar_one())


async def _wait_count(db: Database, count: int, statuses: tuple[str, ...], cap: float) -> float:
    """perf_counter when ``count`` messages (in ``statuses``, any when empty) exist; NaN after
    ``cap`` seconds."""
    deadline = time.monotonic() + cap
    while time.monotonic() < deadline:
        if await _count(db, *statuses) >= count:
            return time.perf_counter()
        await asyncio.sleep(0.05)
    return float("nan")


async def kannel_run(count: int) -> dict[str, Any]:
    from bench.smpp import PASSWORD, SYSTEM_ID, add_account
    from tests.peers.kannel_esme import KannelEsme

    with work_directory("smpp-kannel") as work:
        port = _free_port()
        daemon = Proc(
            "gatewayd",
            [*gatewayd_argv(), "run", "--web", "--simulate", str(SIMULATED_MODEMS)],
            work / "logs",
            env={
                "SMSGW_LISTEN": f"127.0.0.1:{_free_port()}",
                "SMSGW_SMPP_LISTEN": f"127.0.0.1:{port}",
                "SMSGW_LOG_LEVEL": "WARNING",
            },
            cwd=work,
        )
        await daemon.start()
        db = Database(f"sqlite:///{work / 'data' / 'gateway.db'}")
        kannel = None
        try:
            await _listening(port, daemon)
            await add_account(f"sqlite:///{work / 'data' / 'gateway.db'}")
            kannel = KannelEsme.bound_to(
                work / "kannel",
                port=port,
                system_id=SYSTEM_ID,
                password=PASSWORD,
                mo_url="http://127.0.0.1:9/mo",
            )
            await kannel.start()
            url = f"http://127.0.0.1:{kannel.sendsms_port}/cgi-bin/sendsms"
            base = {
                "username": kannel.sendsms_user,
                "password": kannel.sendsms_password,
                "smsc": kannel.smsc_id,
                "charset": "UTF-8",
            }
            statuses: dict[int, int] = {}
            started = time.perf_counter()
            numbers = iter(range(count))
            async with aiohttp.ClientSession() as session:

                async def sender() -> None:
                    for index in numbers:
                        params = base | {"to": recipient(index), "text": f"Kannel {index}"}
                        async with session.get(url, params=params) as answer:
                            await answer.read()
                            statuses[answer.status] = statuses.get(answer.status, 0) + 1

                await asyncio.gather(*(sender() for _ in range(KANNEL_CONCURRENCY)))
            handed = time.perf_counter()
            queued = await _wait_count(db, count, (), 120)
            sent = await _wait_count(db, count, ("sent", "delivered"), 300)
            return {
                "count": count,
                "sendsms_statuses": {str(k): v for k, v in statuses.items()},
                "sendsms_seconds": handed - started,
                "accepted_per_s": count / (queued - started),
                "end_to_end_per_s": count / (sent - started),
                "simulated_modems": SIMULATED_MODEMS,
            }
        finally:
            if kannel is not None:
                await kannel.stop()
            await db.close()
            await daemon.stop()


async def bench_kannel(quick: bool, runs: int) -> dict[str, Any]:
    if shutil.which("bearerbox") is None or shutil.which("smsbox") is None:
        return {"measured": False, "note": "not measured: Kannel's bearerbox is not installed"}
    count = 300 if quick else 500
    entries = []
    for run in range(runs):
        entry = await kannel_run(count)
        say(
            f"smpp kannel run {run + 1}: accepted {entry['accepted_per_s']:.0f}/s, "
            f"end to end {entry['end_to_end_per_s']:.0f}/s"
        )
        entries.append(entry)
    return {"measured": True, "runs": entries}
