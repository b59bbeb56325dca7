"""The API's route table: every endpoint module registers its routes here, in one place."""

from __future__ import annotations

from aiohttp import web

from webui.api import access, health, inbox, kannel, messages, metrics, modems, openapi, records
from webui.services.group_commit import GROUP_COMMIT, GroupCommitter
from webui.services.validation_pool import VALIDATION_POOL, ValidationPool, close_pool


def register(app: web.Application) -> None:
    app[GROUP_COMMIT] = GroupCommitter()
    app[VALIDATION_POOL] = ValidationPool()
    app.on_cleanup.append(close_pool)
    router = app.router
    router.add_get("/api/health", health.health, name="api.health")
    openapi.register(router)
    messages.register(router)
    inbox.register(router)
    modems.register(router)
    metrics.register(router)
    access.register(router)
    records.register(router)
    kannel.register(router)
