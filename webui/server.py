"""Serving an application on a listen address, for ``webui run`` and ``gatewayd run --web``.

::

    runner = await start(app, settings.web.listen)
    ...
    await runner.cleanup()
"""

from __future__ import annotations

import structlog
from aiohttp import web, web_response

from gatewayd.config import ListenAddress

log = structlog.get_logger("webui.server")

SERVER_HEADER = "sms-gateway"
"""What the few answers no hook can reach say in ``Server`` instead of aiohttp's
``Python/3.x aiohttp/3.y`` (see :func:`hide_server_banner`)."""


def hide_server_banner() -> None:
    """Every routed answer loses its ``Server`` header in ``on_response_prepare``
    (:func:`webui.middlewares.add_security_headers`), but aiohttp answers a request it cannot
    parse (bad request line, header or method) before any application hook runs
    (aio-libs/aiohttp#6463), with its module-level banner: that value is replaced here."""
    web_response.SERVER_SOFTWARE = SERVER_HEADER  # type: ignore[attr-defined]


async def start(app: web.Application, listen: ListenAddress) -> web.AppRunner:
    """Set the app up (its cleanup contexts run now) and listen; the caller cleans up."""
    hide_server_banner()
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, listen.host, listen.port, backlog=512)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("Web UI listening", listen=str(listen), url=f"http://{listen}/")
    return runner
