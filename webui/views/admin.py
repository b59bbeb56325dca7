"""Administration pages (admin role): users (create, role, lock/unlock, password and two-factor
resets, the two-factor requirement for admins), API keys (create, shown once; revoke), the
webhook delivery log with replay, and the audit log.

A new role, a lock, a reset password or second factor end every session of the user, and a
revoked key stops working, at once in every web process (:mod:`webui.revocations`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select, update

from gatewayd.store import Role, WebhookStatus, api_keys, users, utc_now, webhook_deliveries
from webui.audit import record
from webui.auth import throttle, two_factor
from webui.auth.apikeys import (
    ApiKeyError,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    set_webhook,
)
from webui.auth.identity import requires
from webui.auth.passwords import PasswordWorkBusy, WeakPassword, generate_password
from webui.auth.sessions import end_user_sessions
from webui.auth.users import UserError, create_user, list_users, set_password, update_user
from webui.i18n import LANGUAGE_CHOICES
from webui.i18n import gettext as _
from webui.keys import BUS, DB, KEY_CACHE, OPTIONS, PASSWORD_WORK
from webui.revocations import announce_key_revoked, announce_sessions_ended
from webui.services.listing import AuditFilter, audit_query, batches
from webui.streaming import stream_csv
from webui.views.audit_words import actor_words, describe, key_names
from webui.views.common import (
    client_address,
    date_range,
    field,
    identity_of,
    int_or_none,
    notify,
    path_id,
    read_form,
    render,
)
from webui.views.labels import AUDIT_ACTIONS, audit_action
from webui.webhooks.urls import WebhookUrlError, checked_webhook_url

ROLES = [role.value for role in Role]
LOCK_FOR = timedelta(days=3650)
PAGE = 100


@requires(Role.ADMIN)
async def users_page(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].read() as conn:
        rows = await list_users(conn)
        admins_two_factor = await two_factor.admins_must_enrol(conn)
    context = {
        "users": rows,
        "roles": ROLES,
        "now": utc_now(),
        "created": request.get("created_user"),
        "admins_two_factor": admins_two_factor,
    }
    return await render(request, "users.html", context, page="users")


@requires(Role.ADMIN)
async def create_user_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    username = field(form, "username", 64)
    role = field(form, "role", 16)
    password = str(form.get("password", "")) or generate_password()
    identity = identity_of(request)
    try:
        async with request.app[DB].begin() as conn:
            user_id = await create_user(
                conn,
                username,
                role,
                password,
                must_change_password=not form.get("password"),
                work=request.app[PASSWORD_WORK],
            )
            locale = LANGUAGE_CHOICES.get(field(form, "locale", 8), "en")
            await update_user(conn, user_id, locale=locale)
            await record(
                conn,
                identity.actor,
                "user.create",
                username,
                {"role": role},
                client_address(request),
            )
    except (UserError, WeakPassword, PasswordWorkBusy) as exc:
        await notify(request, _("The user was not created: %(reason)s") % {"reason": exc}, "error")
        raise web.HTTPSeeOther("/admin/users") from None
    if form.get("password"):
        await notify(request, _("User %(name)s created.") % {"name": username})
        raise web.HTTPSeeOther("/admin/users")
    request["created_user"] = {"username": username, "password": password}
    return await users_page(request)


@requires(Role.ADMIN)
async def change_user(request: web.Request) -> web.StreamResponse:
    """Change a user's role, lock / unlock the account, or reset its password."""
    user_id = path_id(request)
    form = await read_form(request)
    identity = identity_of(request)
    action = field(form, "action", 16)
    if action == "reset_password":
        return await _reset_password(request, user_id)
    if action == "reset_two_factor":
        return await _reset_two_factor(request, user_id)
    values: dict[str, object]
    if action == "role" and field(form, "role", 16) in ROLES:
        values = {"role": field(form, "role", 16)}
    elif action == "lock":
        values = {"locked_until": utc_now() + LOCK_FOR, "failed_logins": 0}
    elif action == "unlock":
        values = {"locked_until": None, "failed_logins": 0}
    else:
        raise web.HTTPBadRequest(text=_("Unknown action."))
    if user_id == identity.id and action in ("role", "lock"):
        await notify(request, _("You cannot lock yourself out or change your own role."), "error")
        raise web.HTTPSeeOther("/admin/users")
    async with request.app[DB].begin() as conn:
        name = (
            await conn.execute(select(users.c.username).where(users.c.id == user_id))
        ).scalar_one_or_none()
        if name is None:
            raise web.HTTPNotFound(text=_("Not found."))
        sessions_ended = await update_user(conn, user_id, **values)
        if action == "unlock":
            await throttle.forget_user(conn, name)
        await record(
            conn,
            identity.actor,
            f"user.{action}",
            name,
            {"role": values.get("role")} if action == "role" else None,
            client_address(request),
        )
    if sessions_ended:
        await announce_sessions_ended(request.app[BUS], user_id)
    await notify(request, _("User %(name)s updated.") % {"name": name})
    raise web.HTTPSeeOther("/admin/users")


async def _reset_two_factor(request: web.Request, user_id: int) -> web.StreamResponse:
    """Turn a user's two-factor sign-in off (a lost phone and no recovery code left); their
    sessions end. Same as ``webui reset-2fa``."""
    identity = identity_of(request)
    async with request.app[DB].begin() as conn:
        name = (
            await conn.execute(select(users.c.username).where(users.c.id == user_id))
        ).scalar_one_or_none()
        if name is None:
            raise web.HTTPNotFound(text=_("Not found."))
        was_on = await two_factor.disable(conn, user_id)
        await end_user_sessions(conn, user_id)
        await record(
            conn,
            identity.actor,
            "user.two_factor.reset",
            name,
            {"was_on": was_on},
            client_address(request),
        )
    await announce_sessions_ended(request.app[BUS], user_id)
    await notify(
        request,
        _("Two-factor sign-in of %(name)s is off; they can set it up again.") % {"name": name},
    )
    raise web.HTTPSeeOther("/admin/users")


@requires(Role.ADMIN)
async def require_two_factor_submit(request: web.Request) -> web.StreamResponse:
    """Turn on or off the rule that admins must sign in with two factors."""
    form = await read_form(request)
    identity = identity_of(request)
    required = field(form, "required", 8) == "on"
    async with request.app[DB].begin() as conn:
        await two_factor.set_admins_must_enrol(conn, required)
        await record(
            conn,
            identity.actor,
            "settings.require_admin_two_factor",
            None,
            {"required": required},
            client_address(request),
        )
    await notify(
        request,
        _("Admins must now use two-factor sign-in.")
        if required
        else _("Two-factor sign-in is no longer required for admins."),
    )
    raise web.HTTPSeeOther("/admin/users")


async def _reset_password(request: web.Request, user_id: int) -> web.StreamResponse:
    """A generated password, shown once; the user must choose their own at the next sign-in.
    Their open sessions end (the password fingerprint in them no longer matches)."""
    identity = identity_of(request)
    if user_id == identity.id:
        await notify(request, _("Change your own password on the My account page."), "error")
        raise web.HTTPSeeOther("/admin/users")
    password = generate_password()
    async with request.app[DB].begin() as conn:
        name = (
            await conn.execute(select(users.c.username).where(users.c.id == user_id))
        ).scalar_one_or_none()
        if name is None:
            raise web.HTTPNotFound(text=_("Not found."))
        await set_password(
            conn, user_id, password, must_change=True, work=request.app[PASSWORD_WORK]
        )
        await record(
            conn, identity.actor, "user.password_reset", name, None, client_address(request)
        )
    await announce_sessions_ended(request.app[BUS], user_id)
    request["created_user"] = {"username": name, "password": password, "reset": True}
    return await users_page(request)


@requires(Role.ADMIN)
async def keys_page(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].read() as conn:
        keys = await list_api_keys(conn)
    context = {
        "keys": keys,
        "roles": ["operator", "viewer"],
        "new_key": request.get("new_key"),
        "webhook_form": request.get("webhook_form"),
    }
    status = 422 if request.get("webhook_form") else 200
    return await render(request, "api_keys.html", context, page="keys", status=status)


@requires(Role.ADMIN)
async def set_key_webhook(request: web.Request) -> web.StreamResponse:
    """Set or (left empty) remove a key's webhook URL; a refused URL is shown beside the
    field with what was typed."""
    key_id = path_id(request)
    form = await read_form(request)
    typed = field(form, "webhook_url", 2000)
    identity = identity_of(request)
    try:
        url = (
            await checked_webhook_url(typed, request.app[OPTIONS].webhook_policy) if typed else None
        )
    except WebhookUrlError as exc:
        request["webhook_form"] = {
            "id": key_id,
            "url": typed,
            "error": _("This address cannot receive webhooks: %(reason)s") % {"reason": exc},
        }
        return await keys_page(request)
    async with request.app[DB].begin() as conn:
        found = (await conn.execute(select(api_keys.c.id).where(api_keys.c.id == key_id))).first()
        if found is None:
            raise web.HTTPNotFound(text=_("Not found."))
        await set_webhook(conn, key_id, url)
        await record(
            conn,
            identity.actor,
            "api_key.webhook",
            f"api_key:{key_id}",
            {"webhook_url": url},
            client_address(request),
        )
    await notify(request, _("Webhook saved.") if url else _("Webhook removed."))
    raise web.HTTPSeeOther("/admin/api-keys")


@requires(Role.ADMIN)
async def create_key_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    identity = identity_of(request)
    try:
        async with request.app[DB].begin() as conn:
            new = await create_api_key(
                conn, field(form, "name", 100), field(form, "role", 16), created_by=identity.id
            )
            await record(
                conn,
                identity.actor,
                "api_key.create",
                f"api_key:{new.id}",
                {"name": new.name, "role": new.role.value},
                client_address(request),
            )
    except ApiKeyError as exc:
        await notify(request, _("The key was not created: %(reason)s") % {"reason": exc}, "error")
        raise web.HTTPSeeOther("/admin/api-keys") from None
    request["new_key"] = new
    return await keys_page(request)


@requires(Role.ADMIN)
async def revoke_key_submit(request: web.Request) -> web.StreamResponse:
    key_id = path_id(request)
    identity = identity_of(request)
    async with request.app[DB].begin() as conn:
        revoked = await revoke_api_key(conn, key_id)
        if revoked:
            await record(
                conn,
                identity.actor,
                "api_key.revoke",
                f"api_key:{key_id}",
                None,
                client_address(request),
            )
    if revoked:
        request.app[KEY_CACHE].forget_key(key_id)
        await announce_key_revoked(request.app[BUS], key_id)
    await notify(
        request, _("Key revoked.") if revoked else _("Not found."), "ok" if revoked else "error"
    )
    raise web.HTTPSeeOther("/admin/api-keys")


@requires(Role.ADMIN)
async def webhooks_page(request: web.Request) -> web.StreamResponse:
    status = str(request.query.get("status", ""))
    query = select(webhook_deliveries).order_by(webhook_deliveries.c.id.desc()).limit(PAGE)
    if status in {s.value for s in WebhookStatus}:
        query = query.where(webhook_deliveries.c.status == status)
    async with request.app[DB].read() as conn:
        rows = (await conn.execute(query)).all()
        names = {
            row.id: row.name for row in await conn.execute(select(api_keys.c.id, api_keys.c.name))
        }
    context = {
        "rows": rows,
        "status": status,
        "statuses": [s.value for s in WebhookStatus],
        "key_names": names,
    }
    return await render(request, "webhooks.html", context, page="webhooks")


@requires(Role.ADMIN)
async def replay_webhook(request: web.Request) -> web.StreamResponse:
    """Put a delivery back in the dispatcher's queue, due now, with a fresh retry budget."""
    delivery_id = path_id(request)
    identity = identity_of(request)
    async with request.app[DB].begin() as conn:
        result = await conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery_id)
            .values(
                status=WebhookStatus.PENDING.value,
                attempts=0,
                next_attempt_at=utc_now(),
                last_error=None,
            )
            .returning(webhook_deliveries.c.id)
        )
        found = result.first() is not None
        if found:
            await record(
                conn,
                identity.actor,
                "webhook.replay",
                f"delivery:{delivery_id}",
                None,
                client_address(request),
            )
    await notify(
        request,
        _("Delivery queued again.") if found else _("Not found."),
        "ok" if found else "error",
    )
    raise web.HTTPSeeOther("/admin/webhooks")


def audit_filter(query: Mapping[str, str]) -> AuditFilter:
    since, until = date_range(query)
    return AuditFilter(
        actor=str(query.get("actor", "")).strip()[:100],
        action=str(query.get("action", "")).strip()[:64],
        q=str(query.get("q", "")).strip()[:100],
        since=since,
        until=until,
        before=int_or_none(query.get("before")),
    )


AUDIT_KEYS = ("actor", "action", "q", "from", "until", "tz")
AUDIT_CSV = (
    "id",
    "at",
    "actor",
    "actor_words",
    "action",
    "action_words",
    "target",
    "detail",
    "client_address",
)


@requires(Role.ADMIN)
async def audit_page(request: web.Request) -> web.StreamResponse:
    wanted = audit_filter(request.query)
    async with request.app[DB].read() as conn:
        rows = (await conn.execute(audit_query(wanted, PAGE + 1))).all()
        keys = await key_names(conn, rows)
    kept = {key: str(request.query[key]) for key in AUDIT_KEYS if request.query.get(key)}
    more = urlencode({**kept, "before": rows[PAGE - 1].id}) if len(rows) > PAGE else None
    context = {
        "entries": [describe(row, keys) for row in rows[:PAGE]],
        "filter": wanted,
        "typed": {key: request.query.get(key, "") for key in ("from", "until", "tz")},
        "actions": sorted(AUDIT_ACTIONS, key=audit_action),
        "more_query": more,
        "export_query": urlencode(kept),
    }
    return await render(request, "audit.html", context, page="audit")


@requires(Role.ADMIN)
async def audit_csv(request: web.Request) -> web.StreamResponse:
    wanted = audit_filter(request.query)
    db = request.app[DB]

    async def named() -> AsyncIterator[list[tuple[Any, Mapping[str, str]]]]:
        """Each batch of entries with the names of the API keys it mentions."""
        async for entries in batches(db, wanted, audit_query):
            async with db.read() as conn:
                keys = await key_names(conn, entries)
            yield [(entry, keys) for entry in entries]

    def row(item: tuple[Any, Mapping[str, str]]) -> tuple[Any, ...]:
        entry, keys = item
        return (
            entry.id,
            entry.at,
            entry.actor,
            actor_words(entry.actor, entry.action, keys),
            entry.action,
            audit_action(entry.action),
            entry.target,
            json.dumps(entry.detail, ensure_ascii=False) if entry.detail is not None else None,
            entry.client_address,
        )

    name = f"audit-{utc_now():%Y%m%d-%H%M}.csv"
    return await stream_csv(request, name, AUDIT_CSV, named(), row)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/admin/users", users_page, name="users")
    router.add_post("/admin/users", create_user_submit)
    router.add_post("/admin/users/{id:\\d+}", change_user)
    router.add_post("/admin/users/two-factor", require_two_factor_submit)
    router.add_get("/admin/api-keys", keys_page, name="keys")
    router.add_post("/admin/api-keys", create_key_submit)
    router.add_post("/admin/api-keys/{id:\\d+}/revoke", revoke_key_submit)
    router.add_post("/admin/api-keys/{id:\\d+}/webhook", set_key_webhook)
    router.add_get("/admin/webhooks", webhooks_page, name="webhooks")
    router.add_post("/admin/webhooks/{id:\\d+}/replay", replay_webhook)
    router.add_get("/admin/audit", audit_page, name="audit")
    router.add_get("/admin/audit.csv", audit_csv, name="audit_csv")
