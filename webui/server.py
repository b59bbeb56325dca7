"""Serving an application on a listen address, for ``webui run`` and ``gatewayd run --web``.

::

    runner = await start(app, settings.web.listen)
    ...
    await runner.cleanup()
"""

from __future__ import annotations

import structlog
from aiohttp import web

from gatewayd.config import ListenAddress

log = structlog.get_logger("webui.server")


async def start(app: web.Application, listen: ListenAddress) -> web.AppRunner:
    """Set the app up (its cleanup contexts run now) and listen; the caller cleans up."""
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
