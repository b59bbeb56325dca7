"""The HTTP control API of the simulated network (SPEC §3.3), an aiohttp application.

``POST /modems/{i}/incoming`` {"from", "text"} injects an SMS (several parts when long);
``POST /modems/{i}/fault`` {"kind", ...} applies a fault (see :mod:`.faults`);
``GET /ledger`` lists the accepted parts; ``GET /modems`` shows each modem's state.
Bad requests get 400 (unknown modem: 404) with ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gatewayd.simulator.faults import FaultError, parse_fault
from gatewayd.simulator.network import SimNetwork

NETWORK_KEY = web.AppKey("network", SimNetwork)
MAX_TEXT_LENGTH = 255 * 153


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class _BadRequest(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__(response.text)
        self.response = response


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _BadRequest(_error(400, "invalid_json", "the body must be a JSON object")) from None
    if not isinstance(body, dict):
        raise _BadRequest(_error(400, "invalid_json", "the body must be a JSON object"))
    return body


def _modem_index(request: web.Request) -> int:
    network = request.app[NETWORK_KEY]
    raw = request.match_info["index"]
    if not raw.isdigit() or int(raw) >= len(network.modems):
        raise _BadRequest(_error(404, "unknown_modem", f"no simulated modem {raw}"))
    return int(raw)


async def incoming(request: web.Request) -> web.Response:
    try:
        index = _modem_index(request)
        body = await _json_body(request)
    except _BadRequest as bad:
        return bad.response
    sender, text = body.get("from"), body.get("text")
    if not isinstance(sender, str) or not sender:
        return _error(400, "invalid_from", "'from' must be a non-empty string")
    if not isinstance(text, str) or not text or len(text) > MAX_TEXT_LENGTH:
        return _error(400, "invalid_text", "'text' must be a non-empty string")
    try:
        parts = request.app[NETWORK_KEY].inject_incoming(index, sender, text)
    except ValueError as error:
        return _error(400, "invalid_message", str(error).splitlines()[0])
    return web.json_response({"modem": index, "parts": parts}, status=202)


async def fault(request: web.Request) -> web.Response:
    try:
        index = _modem_index(request)
        body = await _json_body(request)
        fault_request = parse_fault(body.get("kind"), body)
    except _BadRequest as bad:
        return bad.response
    except FaultError as error:
        return _error(400, "invalid_fault", str(error))
    request.app[NETWORK_KEY].apply_fault(index, fault_request)
    return web.json_response({"modem": index, "kind": fault_request.kind})


async def ledger(request: web.Request) -> web.Response:
    return web.json_response(request.app[NETWORK_KEY].ledger)


async def modems(request: web.Request) -> web.Response:
    return web.json_response(request.app[NETWORK_KEY].state())


def create_control_app(network: SimNetwork) -> web.Application:
    app = web.Application()
    app[NETWORK_KEY] = network
    app.router.add_post("/modems/{index}/incoming", incoming)
    app.router.add_post("/modems/{index}/fault", fault)
    app.router.add_get("/ledger", ledger)
    app.router.add_get("/modems", modems)
    return app


async def start_control_server(network: SimNetwork, host: str, port: int) -> web.AppRunner:
    """Serve the control API; the caller cleans up with ``await runner.cleanup()``."""
    runner = web.AppRunner(create_control_app(network), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
