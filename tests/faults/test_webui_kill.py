"""kill -9 of ``webui run`` in the middle of a batch upload.

The batch (one ``POST /api/v1/messages`` with a list of recipients and an Idempotency-Key)
either exists whole or not at all after the kill, and the client's retry with the same key
leaves exactly one set. The kill moments are fractions of a measured undisturbed upload, so
they fall before, during and after the insert.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from gatewayd.store import Database, messages
from tests.faults.conftest import report_figures
from tests.peers.helpers import free_port
from tests.support.daemons import create_api_key, external_number, wait_http_ok, webui_process

SECRET = "faults-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
BATCH = 4000
FRACTIONS = (0.1, 0.4, 0.7, 0.95)


async def batch_sizes(db: Database, text: str) -> int:
    async with db.read() as conn:
        query = select(func.count()).select_from(messages).where(messages.c.text == text)
        return int((await conn.execute(query)).scalar_one())


async def test_webui_killed_mid_batch_upload(pg_url: str, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"SMSGW_DATABASE_URL": pg_url, "SMSGW_SECRET_KEY": SECRET,
           "SMSGW_LISTEN": f"127.0.0.1:{port}"}  # fmt: skip
    key = await create_api_key(env, "batch")
    web = webui_process(tmp_path, env)
    db = Database(pg_url)
    headers = {"Authorization": f"Bearer {key}"}
    outcomes: list[int] = []
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        await web.start()
        await wait_http_ok(f"{base}/api/health")
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:

            async def upload(text: str, idempotency: str) -> aiohttp.ClientResponse:
                body = {"to": [external_number(i) for i in range(BATCH)], "text": text}
                response = await http.post(f"{base}/api/v1/messages", json=body,
                                           headers={"Idempotency-Key": idempotency})  # fmt: skip
                await response.read()
                return response

            started = time.monotonic()
            calibration = await upload("calibration", "calibration")
            assert calibration.status == 202
            duration = time.monotonic() - started
            for n, fraction in enumerate(FRACTIONS):
                text, idempotency = f"batch-{n}", f"key-{n}"
                request = asyncio.create_task(upload(text, idempotency))
                await asyncio.sleep(duration * fraction)
                await web.kill9()
                with contextlib.suppress(aiohttp.ClientError):
                    await request
                after_kill = await batch_sizes(db, text)
                assert after_kill in (0, BATCH), f"half a batch: {after_kill} of {BATCH}"
                outcomes.append(after_kill)
                await web.start()
                await wait_http_ok(f"{base}/api/health")
                retry = await upload(text, idempotency)
                assert retry.status == (200 if after_kill else 202)
                again = await upload(text, idempotency)
                assert again.status == 200, "a replay answers with the earlier set"
                assert await batch_sizes(db, text) == BATCH, "exactly one set after retries"
        report_figures("webui_kill_batch", {
            "batch": BATCH, "upload_seconds": round(duration, 3), "kills": web.kills,
            "whole_after_kill": sum(o == BATCH for o in outcomes),
            "absent_after_kill": sum(o == 0 for o in outcomes),
        })  # fmt: skip
        assert web.kills == len(FRACTIONS)
    finally:
        await web.stop()
        await db.close()
