"""The API's route table: every endpoint, its method and its handler, in one place."""

from __future__ import annotations

from aiohttp import web

from webui.api import health, messages


def register(app: web.Application) -> None:
    router = app.router
    router.add_get("/api/health", health.health, name="api.health")
    messages.register(router)
