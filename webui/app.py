"""The application factory: settings in, a ready ``web.Application`` out.

::

    app = create_app(settings)                     # webui run: opens its own DB and bus
    app = create_app(settings, db=db, bus=bus)     # gatewayd run --web: shares them

Every resource (database, bus, command client, services, webhook dispatcher, mail sender,
alert evaluator) is
opened and closed in one ``cleanup_ctx`` generator; shared ones handed in are left open. The
modules below
take what they need as arguments; this is where ``app[...]`` is filled. Routes: the sign-in
pages, the API (:mod:`webui.api.routes`) and the pages (:mod:`webui.views`).
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp_jinja2
import aiohttp_session
import jinja2
from aiohttp import web

from gatewayd.bus import Bus, create_bus
from gatewayd.config import Settings
from gatewayd.store import Database
from webui import middlewares, views
from webui.alerts.observe import Where
from webui.alerts.runner import AlertRunner, running_alerts
from webui.alerts.service import Alerts
from webui.api import routes as api_routes
from webui.auth.keycache import KeyCache
from webui.auth.passwords import PasswordWork
from webui.auth.sessions import GatewaySessionStorage
from webui.auth.throttle import ThrottlePolicy
from webui.commands import CommandClient
from webui.dbstats import query_timing_context
from webui.keys import (
    ACCOUNT_ADMIN,
    ACCOUNTS,
    ALERTS,
    BUS,
    COMMAND_CLIENT,
    DB,
    DISPATCHER,
    KEY_CACHE,
    OPT_OUTS,
    OPTIONS,
    OWN_PASSWORD,
    PASSWORD_WORK,
    RECURRING,
    RULES,
    SENDING,
    SETTINGS,
    STATS,
    THROTTLE,
)
from webui.mail.sender import SenderPolicy, running_sender
from webui.options import WebOptions, options_from_settings
from webui.password_gate import password_change_gate
from webui.revocations import access_listener
from webui.services.account_admin import AccountAdmin
from webui.services.accounts import Accounts
from webui.services.group_commit import SendGroup
from webui.services.optouts import OptOuts
from webui.services.passwords import OwnPassword
from webui.services.recurring import RecurringSends
from webui.services.rule_runner import RuleRunner, running_rules
from webui.services.rule_store import RuleStore
from webui.services.sending import Sending
from webui.services.throughput import create_buckets
from webui.services.validation_pool import ValidationPool
from webui.stats import RequestStats
from webui.views import login
from webui.webhooks.dispatcher import running_dispatcher

PACKAGE_DIR = Path(__file__).parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

# aiohttp-session keeps its own plain-string request keys; nothing for us to change there.
warnings.filterwarnings("ignore", category=web.NotAppKeyWarning, module="aiohttp_session")


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    bus: Bus | None = None,
    options: WebOptions | None = None,
) -> web.Application:
    """Build the web application; raises :class:`~webui.options.OptionsError` without a
    secret key."""
    options = options or options_from_settings(settings)
    app = web.Application(client_max_size=options.client_max_size)
    app[SETTINGS] = settings
    app[OPTIONS] = options
    app[STATS] = RequestStats()
    app[KEY_CACHE] = KeyCache()
    app[THROTTLE] = ThrottlePolicy(
        pair_limit=options.pair_failure_limit,
        address_limit=options.address_failure_limit,
        window=timedelta(minutes=options.failure_window_minutes),
    )
    app.cleanup_ctx.append(_database(settings, db))
    app.cleanup_ctx.append(_bus(settings, bus))
    app.cleanup_ctx.append(_command_client)
    app.cleanup_ctx.append(_password_work(options))
    app.cleanup_ctx.append(_sending)
    app.cleanup_ctx.append(access_listener)
    app.cleanup_ctx.append(query_timing_context)
    app.middlewares.append(middlewares.timing_and_errors)
    app.middlewares.append(aiohttp_session.session_middleware(GatewaySessionStorage(options)))
    app.middlewares.append(middlewares.authentication)
    app.middlewares.append(password_change_gate)
    app.on_response_prepare.append(middlewares.add_security_headers)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(("html", "xml"), default=True),
    )
    _add_routes(app)
    if options.run_dispatcher:
        app.cleanup_ctx.append(_webhook_dispatcher)
        app.cleanup_ctx.append(_rules)
        app.cleanup_ctx.append(_alerts)
        if settings.mail.enabled:
            app.cleanup_ctx.append(_mail_sender)
    return app


async def _rules(app: web.Application) -> AsyncIterator[None]:
    """The rules on incoming SMS, run where the webhook dispatcher runs."""
    runner = RuleRunner(
        app[DB],
        app[BUS],
        app[SETTINGS].gateway.default_region,
        commit_lag=app[OPTIONS].webhook_commit_lag,
        poll_interval=app[OPTIONS].webhook_poll_interval,
    )
    async with running_rules(runner):
        yield


async def _alerts(app: web.Application) -> AsyncIterator[None]:
    """The alert evaluator, run where the webhook dispatcher and the mail sender run (they
    deliver what it writes)."""
    settings = app[SETTINGS]
    runner = AlertRunner(
        app[DB],
        app[BUS],
        Where.here(app[DB].sqlite_path, settings.gateway.data_dir),
        mail_enabled=settings.mail.enabled,
        interval=app[OPTIONS].alert_interval,
        registry=app[STATS].registry,
    )
    async with running_alerts(runner):
        yield


def _add_routes(app: web.Application) -> None:
    login.register(app)
    api_routes.register(app)
    views.register(app)
    if STATIC_DIR.is_dir():
        app.router.add_static("/static", STATIC_DIR, name="static", append_version=True)


def _database(settings: Settings, shared: Database | None):  # type: ignore[no-untyped-def]
    async def context(app: web.Application) -> AsyncIterator[None]:
        if shared is not None:
            app[DB] = shared
            yield
            return
        database = Database.from_settings(settings.database)
        app[DB] = database
        try:
            yield
        finally:
            await database.close()

    return context


def _password_work(options: WebOptions):  # type: ignore[no-untyped-def]
    async def context(app: web.Application) -> AsyncIterator[None]:
        work = PasswordWork(options.password_checks_at_once, options.password_checks_waiting)
        app[PASSWORD_WORK] = work
        app[OWN_PASSWORD] = OwnPassword(app[DB], app[THROTTLE], work)
        try:
            yield
        finally:
            work.close()

    return context


def _bus(settings: Settings, shared: Bus | None):  # type: ignore[no-untyped-def]
    async def context(app: web.Application) -> AsyncIterator[None]:
        if shared is not None:
            app[BUS] = shared
            yield
            return
        bus = create_bus(settings.redis_url)
        app[BUS] = bus
        try:
            yield
        finally:
            await bus.close()

    return context


async def _command_client(app: web.Application) -> AsyncIterator[None]:
    """The app's :class:`~webui.commands.CommandClient`, on the app's bus (set up before)."""
    client = CommandClient(app[BUS], app[OPTIONS].command_key)
    client.start()
    app[COMMAND_CLIENT] = client
    try:
        yield
    finally:
        await client.close()


async def _sending(app: web.Application) -> AsyncIterator[None]:
    """The sending service: its group committer, the client accounts (their throughput
    buckets on Redis when there is one), and the validation pool stopped at the end."""
    pool = ValidationPool()
    accounts = Accounts(
        app[DB], app[PASSWORD_WORK], app[THROTTLE], create_buckets(app[SETTINGS].redis_url)
    )
    app[ACCOUNTS] = accounts
    app[ACCOUNT_ADMIN] = AccountAdmin(app[DB], app[BUS], accounts, app[OPTIONS].webhook_policy)
    app[SENDING] = Sending(
        app[DB], app[BUS], app[SETTINGS], SendGroup(app[DB], app[BUS]), pool, accounts
    )
    app[OPT_OUTS] = OptOuts(app[DB], app[SETTINGS].gateway.default_region)
    app[RULES] = RuleStore(app[DB], app[OPTIONS].webhook_policy)
    app[RECURRING] = RecurringSends(app[DB], app[SETTINGS].gateway.default_region)
    app[ALERTS] = Alerts(app[DB], app[OPTIONS].webhook_policy)
    try:
        yield
    finally:
        pool.close()
        await accounts.close()


async def _webhook_dispatcher(app: web.Application) -> AsyncIterator[None]:
    async with running_dispatcher(app[DB], app[BUS], app[OPTIONS]) as dispatcher:
        app[DISPATCHER] = dispatcher
        yield


async def _mail_sender(app: web.Application) -> AsyncIterator[None]:
    policy = SenderPolicy(commit_lag=app[OPTIONS].webhook_commit_lag)
    async with running_sender(app[DB], app[SETTINGS].mail, policy, app[BUS]):
        yield
