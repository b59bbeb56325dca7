"""The web UI in the daemon's own process (``gatewayd run --web``), found without importing it.

gatewayd never imports the web package: the web registers a starter under the entry-point group
:data:`ENTRY_POINT_GROUP` (``pyproject.toml``), and :func:`find_web_starter` loads whichever is
installed. The starter receives the daemon's settings, database and bus, serves the web UI and
API on ``[web] listen``, and returns what stops it. An installation without the web package
answers ``--web`` with one line instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.metadata import entry_points
from typing import Protocol, cast

from gatewayd.bus import Bus
from gatewayd.config import Settings
from gatewayd.store import Database

ENTRY_POINT_GROUP = "sms_gateway.embedded_web"


class RunningWeb(Protocol):
    """A web UI being served: ``cleanup()`` stops it."""

    async def cleanup(self) -> None: ...


WebStarter = Callable[[Settings, Database, Bus], Awaitable[RunningWeb]]


def find_web_starter() -> WebStarter | None:
    """The starter the installed web package registered, or None when there is none."""
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        return cast(WebStarter, entry_point.load())
    return None
