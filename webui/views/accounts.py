"""Administration pages of client accounts (admin role): the list with today's and this month's
usage, a new account, and one account's form — limits and quotas, networks, modems, incoming
routing, SMPP credentials, webhook — and its revocation.

The form posts every field; what it means is :class:`~webui.services.account_admin.
AccountAdmin`'s to check (the same checks as the API and the command line). An empty number
is "unlimited", networks are one per line, modem names separated by commas or spaces, and an
empty SMPP password keeps the one set.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from multidict import MultiDict

from gatewayd.store import Role
from webui.auth.identity import requires
from webui.i18n import gettext as _
from webui.keys import ACCOUNT_ADMIN, ACCOUNTS, SENDING
from webui.services.account_admin import AccountAdmin
from webui.services.caller import Caller
from webui.services.errors import ServiceError
from webui.views.common import (
    client_address,
    field,
    identity_of,
    notify,
    path_id,
    read_form,
    render,
)

SEPARATORS = re.compile(r"[\s,;]+")


def _caller(request: web.Request) -> Caller:
    return Caller(identity_of(request).actor, client_address(request))


def _number(form: MultiDict[str], name: str) -> Any:
    """The number typed, None when left empty, the text itself when it is not a number (for
    the service to refuse naming the field)."""
    text = field(form, name, 40).replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if name != "tps" and value.is_integer() else value


def _names(form: MultiDict[str], name: str) -> list[str]:
    return [part for part in SEPARATORS.split(field(form, name, 4000)) if part]


def form_fields(form: MultiDict[str]) -> dict[str, Any]:
    """The account's fields as the edit form posts them."""
    fields: dict[str, Any] = {
        "name": field(form, "name", 64),
        "tps": _number(form, "tps"),
        "daily_quota": _number(form, "daily_quota"),
        "monthly_quota": _number(form, "monthly_quota"),
        "allowed_networks": [
            line.strip() for line in field(form, "allowed_networks", 4000).splitlines()
        ],
        "allowed_modems": _names(form, "allowed_modems"),
        "incoming_modems": _names(form, "incoming_modems"),
        "incoming_as_parts": form.get("incoming_as_parts") == "on",
        "system_id": field(form, "system_id", 40) or None,
        "webhook_url": field(form, "webhook_url", 2000) or None,
        "rotate_webhook_secret": form.get("rotate_webhook_secret") == "on",
    }
    password = str(form.get("smpp_password", ""))
    if password:
        fields["smpp_password"] = password
    return fields


@requires(Role.ADMIN)
async def accounts_page(request: web.Request) -> web.StreamResponse:
    admin = request.app[ACCOUNT_ADMIN]
    found = await admin.list()
    rows = [(account, await admin.usage(account)) for account in found]
    return await render(request, "accounts.html", {"rows": rows}, page="accounts")


@requires(Role.ADMIN)
async def create_account_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    try:
        saved = await request.app[ACCOUNT_ADMIN].create(
            _caller(request), {"name": field(form, "name", 64)}
        )
    except ServiceError as exc:
        await notify(
            request, _("The account was not created: %(reason)s") % {"reason": exc}, "error"
        )
        raise web.HTTPSeeOther("/admin/accounts") from None
    await notify(request, _("Account %(name)s created.") % {"name": saved.account.name})
    raise web.HTTPSeeOther(f"/admin/accounts/{saved.account.id}")


async def _edit_page(
    request: web.Request, account_id: int, secret: str | None = None
) -> web.StreamResponse:
    account = await request.app[ACCOUNTS].get(account_id)
    admin: AccountAdmin = request.app[ACCOUNT_ADMIN]
    context = {
        "account": account,
        "usage": await admin.usage(account),
        "known_modems": sorted(await request.app[SENDING].known_modem_names()),
        "new_secret": secret,
    }
    return await render(request, "account_edit.html", context, page="accounts")


@requires(Role.ADMIN)
async def account_page(request: web.Request) -> web.StreamResponse:
    try:
        return await _edit_page(request, path_id(request))
    except ServiceError:
        raise web.HTTPNotFound(text=_("Not found.")) from None


@requires(Role.ADMIN)
async def change_account_submit(request: web.Request) -> web.StreamResponse:
    account_id = path_id(request)
    form = await read_form(request)
    try:
        saved = await request.app[ACCOUNT_ADMIN].update(
            _caller(request), account_id, form_fields(form)
        )
    except ServiceError as exc:
        if exc.code == "not_found":
            raise web.HTTPNotFound(text=_("Not found.")) from None
        await notify(request, _("Not saved: %(reason)s") % {"reason": exc}, "error")
        raise web.HTTPSeeOther(f"/admin/accounts/{account_id}") from None
    if saved.webhook_secret is not None:
        return await _edit_page(request, account_id, saved.webhook_secret)
    await notify(request, _("Saved."))
    raise web.HTTPSeeOther(f"/admin/accounts/{account_id}")


@requires(Role.ADMIN)
async def revoke_account_submit(request: web.Request) -> web.StreamResponse:
    account_id = path_id(request)
    try:
        account = await request.app[ACCOUNT_ADMIN].revoke(_caller(request), account_id)
    except ServiceError as exc:
        if exc.code == "not_found":
            raise web.HTTPNotFound(text=_("Not found.")) from None
        await notify(request, _("Not revoked: %(reason)s") % {"reason": exc}, "error")
        raise web.HTTPSeeOther(f"/admin/accounts/{account_id}") from None
    await notify(request, _("Account %(name)s revoked.") % {"name": account.name})
    raise web.HTTPSeeOther("/admin/accounts")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/admin/accounts", accounts_page, name="accounts")
    router.add_post("/admin/accounts", create_account_submit)
    router.add_get("/admin/accounts/{id:\\d+}", account_page, name="account_edit")
    router.add_post("/admin/accounts/{id:\\d+}", change_account_submit)
    router.add_post("/admin/accounts/{id:\\d+}/revoke", revoke_account_submit)
