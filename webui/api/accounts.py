"""Admin endpoints for client accounts: ``/api/v1/accounts``, ``/api/v1/accounts/{id}`` and
``/api/v1/accounts/{id}/revoke`` (a revoked account stays readable: it is not deleted).

Admins only (checked by the auth middleware before the handler runs). The work, its checks and
its audit entries are :class:`~webui.services.account_admin.AccountAdmin`'s; an SMPP password
is set with ``PATCH`` and never shown, a webhook secret is shown once when made.
"""

from __future__ import annotations

from aiohttp import web

from gatewayd.store import Role
from webui.api.inputs import path_id, read_model
from webui.api.models import AccountCreate, AccountUpdate
from webui.api.sending import caller_of
from webui.auth.identity import requires
from webui.keys import ACCOUNT_ADMIN, ACCOUNTS
from webui.services.account_admin import account_json


@requires(Role.ADMIN)
async def list_accounts(request: web.Request) -> web.Response:
    admin = request.app[ACCOUNT_ADMIN]
    found = await admin.list()
    return web.json_response(
        {"accounts": [account_json(account, await admin.usage(account)) for account in found]}
    )


@requires(Role.ADMIN)
async def create_account(request: web.Request) -> web.Response:
    body = await read_model(request, AccountCreate)
    saved = await request.app[ACCOUNT_ADMIN].create(
        caller_of(request), body.model_dump(exclude_unset=True)
    )
    answer = {
        **account_json(saved.account, await request.app[ACCOUNT_ADMIN].usage(saved.account)),
        "webhook_secret": saved.webhook_secret,
    }
    return web.json_response(answer, status=201)


@requires(Role.ADMIN)
async def get_account(request: web.Request) -> web.Response:
    account = await request.app[ACCOUNTS].get(path_id(request))
    usage = await request.app[ACCOUNT_ADMIN].usage(account)
    return web.json_response(account_json(account, usage))


@requires(Role.ADMIN)
async def update_account(request: web.Request) -> web.Response:
    account_id = path_id(request)
    body = await read_model(request, AccountUpdate)
    fields = body.model_dump(exclude_unset=True)
    admin = request.app[ACCOUNT_ADMIN]
    saved = await admin.update(caller_of(request), account_id, fields)
    answer = account_json(saved.account, await admin.usage(saved.account))
    if saved.webhook_secret is not None:
        answer["webhook_secret"] = saved.webhook_secret
    return web.json_response(answer)


@requires(Role.ADMIN)
async def revoke_account(request: web.Request) -> web.Response:
    admin = request.app[ACCOUNT_ADMIN]
    account = await admin.revoke(caller_of(request), path_id(request))
    return web.json_response(account_json(account, await admin.usage(account)))


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/v1/accounts", list_accounts, name="api.accounts")
    router.add_post("/api/v1/accounts", create_account, name="api.account_create")
    router.add_get("/api/v1/accounts/{id:[0-9]+}", get_account, name="api.account")
    router.add_patch("/api/v1/accounts/{id:[0-9]+}", update_account, name="api.account_update")
    router.add_post(
        "/api/v1/accounts/{id:[0-9]+}/revoke", revoke_account, name="api.account_revoke"
    )
