"""The webhook dispatcher, run in the app's cleanup context."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web


async def dispatcher_context(app: web.Application) -> AsyncIterator[None]:
    yield
