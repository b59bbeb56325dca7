"""The web UI inside ``gatewayd run --web``: served on the daemon's own database and bus.

Registered as the ``sms_gateway.embedded_web`` entry point (``pyproject.toml``), which is how the
daemon finds it (:mod:`gatewayd.service.embedded_web`) without importing the web. On a database
with no users it also creates the first admin with a generated password, printed once.
"""

from __future__ import annotations

from aiohttp import web

from gatewayd.bus import Bus
from gatewayd.config import Settings
from gatewayd.store import Database
from webui.app import create_app
from webui.auth.passwords import generate_password
from webui.auth.users import create_user, list_users
from webui.server import start

FIRST_ADMIN = "admin"


async def start_embedded_web(settings: Settings, db: Database, bus: Bus) -> web.AppRunner:
    """Serve the web UI and API on ``[web] listen``; the runner's ``cleanup()`` stops it."""
    app = create_app(settings, db=db, bus=bus)
    runner = await start(app, settings.web.listen)
    # Only now that the web listens: a first admin's password printed before a failed start
    # would be lost with it.
    async with db.begin() as conn:
        if not await list_users(conn):
            password = generate_password()
            await create_user(conn, FIRST_ADMIN, "admin", password, must_change_password=True)
            print(f"first admin account: {FIRST_ADMIN} / {password}", flush=True)
    print(f"web UI at http://{settings.web.listen}/", flush=True)
    return runner
