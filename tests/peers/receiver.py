"""A tiny HTTP server on 127.0.0.1 that records every request a peer makes to it.

Owns: the callback endpoint for Kannel's delivery reports (``dlr-url``) and incoming messages
(``sms-service get-url``). Every request is answered 200 with an empty body.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from tests.support.ports import free_port


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]


@dataclass
class HttpRecorder:
    requests: list[RecordedRequest] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _record(self, request: web.Request) -> web.Response:
        self.requests.append(RecordedRequest(request.method, request.path, dict(request.query)))
        return web.Response(text="")

    def to_path(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    def describe(self) -> str:
        lines = [f"{r.method} {r.path} {r.query}" for r in self.requests]
        return "requests received:\n" + ("\n".join(lines) or "(none)")
