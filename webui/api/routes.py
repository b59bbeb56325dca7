"""The API's route table: every endpoint module registers its routes here, in one place."""

from __future__ import annotations

from aiohttp import web

from webui.api import (
    access,
    accounts,
    alerts,
    health,
    inbox,
    kannel,
    messages,
    metrics,
    modems,
    openapi,
    optouts,
    records,
    recurring,
    rules,
)


def register(app: web.Application) -> None:
    router = app.router
    router.add_get("/api/health", health.health, name="api.health")
    openapi.register(router)
    messages.register(router)
    inbox.register(router)
    modems.register(router)
    metrics.register(router)
    access.register(router)
    accounts.register(router)
    optouts.register(router)
    rules.register(router)
    recurring.register(router)
    alerts.register(router)
    records.register(router)
    kannel.register(router)
