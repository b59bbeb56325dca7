"""nginx/: the production configuration passes ``nginx -t`` and, run on loopback in front of a
tiny upstream, redirects HTTP, sets security headers, streams events unbuffered, refuses
hammered logins with 429 logged as "Rate limit exceeded" (client address first) and applies
blocked.conf on reload."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.ops.helpers import REPO, NginxSite, nginx_test_copy, require
from tests.support.ports import free_port

pytestmark = pytest.mark.ops

NGINX = require("nginx")
SECURITY_HEADERS = (
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "Cross-Origin-Opener-Policy",
    "Content-Security-Policy",
)


def nginx_command(site: NginxSite, *extra: str) -> list[str]:
    return [NGINX, "-p", str(site.prefix), "-c", str(site.conf), "-e", str(site.error_log), *extra]


def test_configuration_passes_nginx_t(tmp_path: Path) -> None:
    site = nginx_test_copy(tmp_path, upstream="127.0.0.1:9")
    result = subprocess.run(nginx_command(site, "-t"), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr and "[emerg]" not in result.stderr


def test_http2_is_its_own_directive_not_the_deprecated_listen_flag() -> None:
    site = (REPO / "nginx/conf.d/sms-gateway.conf").read_text()
    listens = re.findall(r"^\s*listen\s+([^;]*);", site, flags=re.MULTILINE)
    assert listens == ["80 default_server", "443 ssl default_server"]
    assert re.findall(r"^\s*http2\s+(\w+);", site, flags=re.MULTILINE) == ["on"]


async def test_https_answers_over_http2(tmp_path: Path) -> None:
    curl = require("curl")
    async with running_site(tmp_path) as (site, _):
        result = await asyncio.to_thread(
            subprocess.run,
            [
                curl,
                "-sk",
                "--http2",
                "-o",
                "/dev/null",
                "-w",
                "%{http_version}",
                f"https://127.0.0.1:{site.https_port}/api/v1/messages",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.stdout == "2", result.stderr


def test_a_broken_configuration_fails_nginx_t(tmp_path: Path) -> None:
    site = nginx_test_copy(tmp_path, upstream="127.0.0.1:9")
    blocked = site.conf.parent / "blocked.conf"
    blocked.write_text(blocked.read_text() + "deny not-an-address;\n")
    result = subprocess.run(nginx_command(site, "-t"), capture_output=True, text=True)
    assert result.returncode != 0
    assert "blocked.conf" in result.stderr


class Upstream:
    """Stands in for the web service: echoes headers, streams events on request."""

    def __init__(self) -> None:
        self.release_stream = asyncio.Event()
        self.seen_forwarded_for: list[str] = []

    async def echo(self, request: web.Request) -> web.Response:
        self.seen_forwarded_for.append(request.headers.get("X-Forwarded-For", ""))
        forwarded = request.headers.get("X-Forwarded-For")
        return web.json_response({"path": request.path, "xff": forwarded})

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: first\n\n")
        await asyncio.wait_for(self.release_stream.wait(), timeout=10)
        await response.write(b"data: second\n\n")
        return response

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1/events", self.events)
        app.router.add_route("*", "/{tail:.*}", self.echo)
        return app


@contextlib.asynccontextmanager
async def running_site(tmp_path: Path) -> AsyncIterator[tuple[NginxSite, Upstream]]:
    upstream = Upstream()
    runner = web.AppRunner(upstream.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    site = nginx_test_copy(tmp_path, upstream=f"127.0.0.1:{port}")
    process = await asyncio.create_subprocess_exec(
        *nginx_command(site, "-g", "daemon off;"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_listening(site.https_port, process)
        yield site, upstream
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)
        await runner.cleanup()


async def wait_listening(
    port: int, process: asyncio.subprocess.Process, timeout: float = 10.0
) -> None:
    async with asyncio.timeout(timeout):
        while True:
            if process.returncode is not None:
                assert process.stderr is not None
                raise AssertionError((await process.stderr.read()).decode())
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return


async def test_http_redirects_and_https_sets_security_headers(tmp_path: Path) -> None:
    async with running_site(tmp_path) as (site, _), aiohttp.ClientSession() as http:
        async with http.get(
            f"http://127.0.0.1:{site.http_port}/outbox?x=1", allow_redirects=False
        ) as response:
            assert response.status == 301
            assert response.headers["Location"].startswith("https://")
            assert response.headers["Location"].endswith("/outbox?x=1")
        async with http.get(
            f"https://127.0.0.1:{site.https_port}/api/v1/messages",
            ssl=False,
            headers={"X-Forwarded-For": "6.6.6.6"},
        ) as response:
            assert response.status == 200
            body = await response.json()
            assert "Strict-Transport-Security" in response.headers
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["X-Frame-Options"] == "DENY"
            assert "nginx/" not in response.headers.get("Server", "")
            # the echo upstream sets no security header: nginx adds each, once
            for name in SECURITY_HEADERS:
                assert len(response.headers.getall(name, [])) == 1, name
        # a client cannot smuggle its own X-Forwarded-For past nginx
        assert body["xff"] == "127.0.0.1"


async def test_event_stream_is_not_buffered(tmp_path: Path) -> None:
    async with (
        running_site(tmp_path) as (site, upstream),
        aiohttp.ClientSession() as http,
        http.get(f"https://127.0.0.1:{site.https_port}/api/v1/events", ssl=False) as response,
    ):
        assert response.status == 200
        # with buffering the first event would only arrive with the end of the response
        first = await asyncio.wait_for(response.content.readuntil(b"\n\n"), timeout=5)
        assert first == b"data: first\n\n"
        upstream.release_stream.set()
        rest = await asyncio.wait_for(response.content.read(), timeout=5)
        assert rest == b"data: second\n\n"


async def test_hammered_login_is_refused_and_logged(tmp_path: Path) -> None:
    async with running_site(tmp_path) as (site, _), aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(20):  # bounded, loopback only
            async with http.post(
                f"https://127.0.0.1:{site.https_port}/login",
                data={"username": "x", "password": "y"},
                ssl=False,
            ) as response:
                statuses.append(response.status)
        # GETs of the login page are not limited
        async with http.get(f"https://127.0.0.1:{site.https_port}/login", ssl=False) as response:
            assert response.status == 200
    assert statuses[0] == 200
    assert statuses.count(429) >= 10
    lines = site.access_log.read_text().splitlines()
    refused = [line for line in lines if "Rate limit exceeded" in line]
    assert len(refused) == statuses.count(429)
    assert {line.split()[0] for line in refused} == {"127.0.0.1"}
    # the runbook's pipeline
    pipeline = await asyncio.to_thread(
        subprocess.run,
        f"grep 'Rate limit exceeded' {site.access_log} | awk '{{print $1}}' | sort | uniq -c",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    )
    assert pipeline.stdout.split() == [str(len(refused)), "127.0.0.1"]


async def test_api_burst_is_limited(tmp_path: Path) -> None:
    async with running_site(tmp_path) as (site, _), aiohttp.ClientSession() as http:

        async def one() -> int:
            async with http.get(
                f"https://127.0.0.1:{site.https_port}/api/v1/modems", ssl=False
            ) as response:
                return response.status

        statuses = await asyncio.gather(*(one() for _ in range(120)))
    assert statuses.count(429) > 0
    assert statuses.count(200) >= 40


async def test_blocked_address_applies_on_reload(tmp_path: Path) -> None:
    async with running_site(tmp_path) as (site, _), aiohttp.ClientSession() as http:
        url = f"https://127.0.0.1:{site.https_port}/api/v1/messages"
        async with http.get(url, ssl=False) as response:
            assert response.status == 200
        blocked = site.conf.parent / "blocked.conf"
        blocked.write_text(blocked.read_text() + "deny 127.0.0.1;\n")
        await asyncio.to_thread(
            subprocess.run, nginx_command(site, "-s", "reload"), check=True, capture_output=True
        )
        async with asyncio.timeout(10):
            while True:  # workers pick up the new configuration
                async with http.get(url, ssl=False) as response:
                    if response.status == 403:
                        break
                await asyncio.sleep(0.05)
