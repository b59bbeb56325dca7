"""The operator's web pages. :func:`register` is the hook the application factory calls.

Each module owns a page family and its routes: :mod:`.dashboard`, :mod:`.compose`,
:mod:`.outbox`, :mod:`.inbox`, :mod:`.modems`, :mod:`.hosts`, :mod:`.addressbook`,
:mod:`.admin`, :mod:`.accounts` (client accounts), :mod:`.optouts` (opt-out, block and allow
lists), :mod:`.rules` (rules on incoming SMS), :mod:`.recurring` (recurring sends),
:mod:`.account`, :mod:`.two_factor`, :mod:`.settings`, :mod:`.alerts` (alert settings and
the banner's fragment); live events are :mod:`webui.live`.
Role rules are declared on the handlers (``@requires``) and enforced by the authentication
middleware, so a hidden button and a refused request always agree.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from webui import i18n, live, middlewares
from webui.views import (
    account,
    accounts,
    addressbook,
    admin,
    alerts,
    compose,
    dashboard,
    error_pages,
    hosts,
    inbox,
    labels,
    modems,
    optouts,
    outbox,
    recurring,
    rules,
    settings,
    two_factor,
)


def register(app: web.Application) -> None:
    env = aiohttp_jinja2.get_env(app)
    i18n.install(env)
    env.globals.update(labels.template_globals())
    app.middlewares.append(i18n.locale_middleware)
    # Outside authentication: its refusals are shown in the page frame too.
    at = app.middlewares.index(middlewares.authentication)
    app.middlewares.insert(at, error_pages.error_pages)
    router = app.router
    dashboard.register(router)
    router.add_get("/compose", compose.compose_page, name="compose")
    router.add_post("/compose", compose.compose_submit)
    outbox.register(router)
    inbox.register(router)
    modems.register(router)
    hosts.register(router)
    addressbook.register(router)
    admin.register(router)
    accounts.register(router)
    optouts.register(router)
    rules.register(router)
    recurring.register(router)
    settings.register(router)
    alerts.register(router)
    account.register(router)
    two_factor.register(router)
    live.register(app)
