"""Two ``webui run`` processes behind nginx (the production configuration on loopback, with an
upstream group of both), one PostgreSQL, one Redis and a gatewayd with a simulated modem.

A sign-in is valid on both processes (nginx's access log names the process of every request),
an event published by gatewayd reaches live streams on both, an API client keeps sending while
one web process is killed (-9) and every message it was told about is queued exactly once, and
a sign-out through nginx ends the session and its live streams on both.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from gatewayd.store import Database, Role, messages
from tests.faults.conftest import report_figures
from tests.ops.helpers import NginxSite, nginx_test_copy
from tests.ops.test_nginx import nginx_command, wait_listening
from tests.peers.helpers import gatewayd_command
from tests.support.daemons import (
    DaemonProcess,
    create_api_key,
    external_number,
    wait_http_ok,
    webui_process,
)
from tests.support.ports import free_port
from tests.support.services import PrivateRedis
from webui.auth.users import create_user

SECRET = "web-tier-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123"
PASSWORD = "correct horse battery"
SENDS = 60
UPSTREAM_ADDRESS = re.compile(r'"(GET|POST) ([^ ]+) HTTP/[0-9.]+" (\d{3}) .* ua=([0-9.:, ]+) id=')


@dataclass
class Tier:
    site: NginxSite
    webs: tuple[DaemonProcess, DaemonProcess]
    ports: tuple[int, int]
    gateway: DaemonProcess
    env: dict[str, str]
    db: Database

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.site.https_port}"

    def direct(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def served_by(self, method: str, path: str) -> list[tuple[int, str]]:
        """(status, upstream addresses) of the requests nginx logged for ``method path``."""
        found = []
        for line in self.site.access_log.read_text(errors="replace").splitlines():
            match = UPSTREAM_ADDRESS.search(line)
            if match and match[1] == method and match[2] == path:
                found.append((int(match[3]), match[4]))
        return found


@pytest.fixture
async def tier(pg_url: str, tmp_path: Path) -> AsyncIterator[Tier]:
    db = Database(pg_url)
    async with db.begin() as conn:
        await create_user(conn, "op", Role.OPERATOR, PASSWORD)
    with PrivateRedis() as redis_server:
        ports = (free_port(), free_port())
        env = {
            "SMSGW_DATABASE_URL": pg_url,
            "SMSGW_REDIS_URL": redis_server.url,
            "SMSGW_SECRET_KEY": SECRET,
            "SMSGW_TRUSTED_PROXIES": "127.0.0.1/32",
        }
        webs = tuple(
            webui_process(tmp_path / f"web{n}", {**env, "SMSGW_LISTEN": f"127.0.0.1:{port}"})
            for n, port in enumerate(ports)
        )
        gateway = DaemonProcess(
            "gatewayd",
            [*gatewayd_command(), "run", "--simulate", "1"],
            tmp_path / "gatewayd",
            {**env, "SMSGW_DATA_DIR": str(tmp_path / "gatewayd" / "data")},
        )
        nginx_dir = tmp_path / "nginx"
        nginx_dir.mkdir()
        site = nginx_test_copy(
            nginx_dir, upstream="smsgw_webs", servers=[f"127.0.0.1:{port}" for port in ports]
        )
        nginx = await asyncio.create_subprocess_exec(
            *nginx_command(site, "-g", "daemon off;"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await gateway.start()
            for web, port in zip(webs, ports, strict=True):
                await web.start()
                await wait_http_ok(f"http://127.0.0.1:{port}/api/health", timeout=60)
            await wait_listening(site.https_port, nginx)
            await gateway.wait_log("gatewayd started", timeout=60)
            yield Tier(site, webs, ports, gateway, env, db)  # type: ignore[arg-type]
        finally:
            nginx.terminate()
            await nginx.wait()
            for process in (*webs, gateway):
                await process.stop()
            await db.close()


def browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        connector=aiohttp.TCPConnector(ssl=False),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def sign_in(http: aiohttp.ClientSession, url: str) -> str:
    """Sign ``op`` in through ``url``; the session cookie's value."""
    async with http.get(f"{url}/login") as page:
        html = await page.text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    data = {"username": "op", "password": PASSWORD, "csrf_token": token[1]}
    async with http.post(f"{url}/login", data=data, allow_redirects=False) as answer:
        assert answer.status == 303, await answer.text()
    return {c.key: c.value for c in http.cookie_jar}["smsgw_session"]


async def open_stream(
    url: str, cookie: str
) -> tuple[aiohttp.ClientSession, aiohttp.ClientResponse]:
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))
    response = await http.get(
        f"{url}/events",
        headers={"Cookie": f"smsgw_session={cookie}"},
        timeout=aiohttp.ClientTimeout(total=None),
    )
    assert response.status == 200
    first = await asyncio.wait_for(response.content.readuntil(b"\r\n\r\n"), 10)
    assert b"event: ready" in first
    return http, response


async def read_until(stream: aiohttp.ClientResponse, wanted: bytes, timeout: float = 20) -> bytes:
    seen = b""
    async with asyncio.timeout(timeout):
        while wanted not in seen:
            chunk = await stream.content.readany()
            if not chunk:
                break
            seen += chunk
    return seen


async def me(url: str, cookie: str) -> int:
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as http,
        http.get(f"{url}/api/v1/me", headers={"Cookie": f"smsgw_session={cookie}"}) as answer,
    ):
        return answer.status


async def send_with_retries(
    http: aiohttp.ClientSession, url: str, key: str, index: int
) -> tuple[int, int]:
    """POST one message with an Idempotency-Key until it is answered 202 (a web process may
    be gone mid-request); its id and how many tries it took."""
    body = {"to": external_number(index), "text": f"web-tier-{index}"}
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"tier-{index}"}
    for attempt in range(1, 50):
        try:
            async with http.post(f"{url}/api/v1/messages", json=body, headers=headers) as answer:
                if answer.status in (200, 202):
                    return int((await answer.json())["id"]), attempt
                assert answer.status in (429, 502, 503, 504), await answer.text()
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1 * attempt)
    raise AssertionError(f"message {index} never accepted")


async def test_two_web_processes_behind_nginx(tier: Tier) -> None:
    key = await create_api_key(tier.env, "tier")
    async with browser() as op:
        cookie = await sign_in(op, tier.url)
        # Signed in through one process, the session is good on both.
        for _ in range(8):
            async with op.get(f"{tier.url}/api/v1/me") as answer:
                assert answer.status == 200
        served = tier.served_by("GET", "/api/v1/me")
        assert {status for status, _ in served} == {200}
        assert {address for _, address in served} == {f"127.0.0.1:{p}" for p in tier.ports}
        # An event published by gatewayd reaches live streams on both processes (and one
        # through nginx).
        streams = [await open_stream(tier.direct(i), cookie) for i in (0, 1)]
        streams.append(await open_stream(tier.url, cookie))
        message_id, _ = await send_with_retries(op, tier.url, key, 0)
        for _, stream in streams:
            seen = await read_until(stream, f'"id": {message_id},'.encode())
            assert b"event: message.status" in seen
        for http, stream in (streams[0], streams[2]):  # one may be on the process killed below
            stream.close()
            await http.close()
        streams = [streams[1]]  # on the process that stays up
        # One web process killed while an API client sends: nothing it was told is lost.
        sender = asyncio.create_task(sends(op, tier, key))
        await wait_for_count(tier.db, 20)
        await tier.webs[0].kill9()
        killed_at = time.time()
        ids, retried = await sender
        async with tier.db.read() as conn:
            stored = (
                await conn.execute(
                    select(func.count()).where(messages.c.idempotency_key.like("tier-%"))
                )
            ).scalar_one()
        assert len(set(ids)) == SENDS and message_id not in ids
        assert stored == SENDS + 1  # one row per Idempotency-Key, retries included
        async with op.get(f"{tier.url}/api/v1/me") as answer:
            assert answer.status == 200  # the survivor holds the session too
        # Back up; a sign-out through nginx ends the session and its streams everywhere.
        await tier.webs[0].start()
        await wait_http_ok(f"{tier.direct(0)}/api/health", timeout=60)
        streams += [await open_stream(tier.direct(0), cookie), await open_stream(tier.url, cookie)]
        async with op.get(f"{tier.url}/api/v1/me") as answer:
            token = (await answer.json())["csrf_token"]
        async with op.post(
            f"{tier.url}/logout", data={"csrf_token": token}, allow_redirects=False
        ) as out:
            assert out.status == 303
        for index in (0, 1):
            assert await me(tier.direct(index), cookie) == 401
        ended = 0
        for http, stream in streams:
            if b"event: session.ended" in await read_until(stream, b"event: session.ended", 5):
                ended += 1
            stream.close()
            await http.close()
        assert ended == 3
        report_figures(
            "two_web_processes",
            {
                "sends": SENDS,
                "accepted_once": stored - 1,
                "requests_retried_after_the_kill": retried,
                "served_by": sorted({a for _, a in tier.served_by("GET", "/api/v1/me")}),
                "seconds_from_kill_to_last_send": round(time.time() - killed_at, 2),
            },
        )


async def sends(op: aiohttp.ClientSession, tier: Tier, key: str) -> tuple[list[int], int]:
    ids, retried = [], 0
    for index in range(1, SENDS + 1):
        message_id, attempts = await send_with_retries(op, tier.url, key, index)
        ids.append(message_id)
        retried += attempts > 1
        await asyncio.sleep(0.06)  # about the API's rate limit in nginx (20 a second)
    return ids, retried


async def wait_for_count(db: Database, count: int) -> None:
    async with asyncio.timeout(60):
        while True:
            async with db.read() as conn:
                found = (
                    await conn.execute(
                        select(func.count()).where(messages.c.idempotency_key.like("tier-%"))
                    )
                ).scalar_one()
            if found >= count:
                return
            await asyncio.sleep(0.05)
