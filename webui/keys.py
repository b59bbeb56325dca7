"""The typed keys under which the application keeps its shared objects.

Views and middlewares read ``request.app[SETTINGS]``, ``request.app[DB]``… and never reach for
module globals. This module names the types of what it keeps and so sits above them: the
services, auth, commands, options and the webhook dispatcher never import it (what they need is
handed to them). Request-scoped values (who is asking, from where) live under request keys:
``request[IDENTITY]`` and ``request[CLIENT_ADDRESS]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from gatewayd.bus import Bus
from gatewayd.config import Settings
from gatewayd.store import Database

if TYPE_CHECKING:
    from webui.alerts.service import Alerts
    from webui.auth.identity import Identity
    from webui.auth.keycache import KeyCache
    from webui.auth.passwords import PasswordWork
    from webui.auth.throttle import ThrottlePolicy
    from webui.commands import CommandClient
    from webui.options import WebOptions
    from webui.services.account_admin import AccountAdmin
    from webui.services.accounts import Account, Accounts
    from webui.services.optouts import OptOuts
    from webui.services.passwords import OwnPassword
    from webui.services.recurring import RecurringSends
    from webui.services.rule_store import RuleStore
    from webui.services.sending import Sending
    from webui.stats import RequestStats
    from webui.webhooks.dispatcher import Dispatcher

SETTINGS = web.AppKey("settings", Settings)
OPTIONS: web.AppKey[WebOptions] = web.AppKey("options")
DB = web.AppKey("db", Database)
BUS = web.AppKey("bus", Bus)
STATS: web.AppKey[RequestStats] = web.AppKey("stats")
THROTTLE: web.AppKey[ThrottlePolicy] = web.AppKey("throttle")
PASSWORD_WORK: web.AppKey[PasswordWork] = web.AppKey("password_work")
KEY_CACHE: web.AppKey[KeyCache] = web.AppKey("key_cache")
COMMAND_CLIENT: web.AppKey[CommandClient] = web.AppKey("command_client")
SENDING: web.AppKey[Sending] = web.AppKey("sending")
ACCOUNTS: web.AppKey[Accounts] = web.AppKey("accounts")
ACCOUNT_ADMIN: web.AppKey[AccountAdmin] = web.AppKey("account_admin")
OWN_PASSWORD: web.AppKey[OwnPassword] = web.AppKey("own_password")
OPT_OUTS: web.AppKey[OptOuts] = web.AppKey("opt_outs")
RULES: web.AppKey[RuleStore] = web.AppKey("rules")
RECURRING: web.AppKey[RecurringSends] = web.AppKey("recurring")
DISPATCHER: web.AppKey[Dispatcher] = web.AppKey("webhook_dispatcher")
ALERTS: web.AppKey[Alerts] = web.AppKey("alerts")

IDENTITY: web.RequestKey[Identity | None] = web.RequestKey("identity")
"""Who makes the request (a signed-in user or an API key), None when anonymous."""
CLIENT_ADDRESS: web.RequestKey[str] = web.RequestKey("client_address")
ACCOUNT: web.RequestKey[Account | None] = web.RequestKey("account")
"""The client account of the request's API key (its limits apply); None for users."""
"""The client's address after trusted-proxy resolution."""
