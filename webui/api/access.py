"""Admin endpoints for access: API keys and users; ``/api/v1/me`` for anyone signed in.

Every change is written to the audit log in the same transaction. A revoked key, and the
sessions a change ends, stop working at once in every web process (:mod:`webui.revocations`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from gatewayd.queue.view import iso
from gatewayd.store import Role, api_keys, users, utc_now
from webui.api.inputs import path_id, read_model
from webui.api.models import ApiKeyCreate, ApiKeyUpdate, PasswordChange, UserCreate, UserUpdate
from webui.audit import record
from webui.auth import throttle
from webui.auth.apikeys import ApiKeyError, create_api_key, key_json, revoke_api_key, set_webhook
from webui.auth.identity import Identity, requires
from webui.auth.passwords import WeakPassword, generate_password
from webui.auth.users import UserError, create_user, set_password, update_user
from webui.errors import ApiError, error_response, not_found
from webui.keys import (
    ACCOUNTS,
    BUS,
    CLIENT_ADDRESS,
    DB,
    IDENTITY,
    KEY_CACHE,
    OPTIONS,
    OWN_PASSWORD,
    PASSWORD_WORK,
)
from webui.revocations import announce_key_revoked, announce_sessions_ended
from webui.webhooks.urls import WebhookUrlError, checked_webhook_url


def who(request: web.Request) -> Identity:
    identity = request[IDENTITY]
    assert identity is not None
    return identity


def user_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "username": row.username,
        "role": row.role,
        "created_at": iso(row.created_at),
        "last_login_at": iso(row.last_login_at),
        "locked_until": iso(row.locked_until)
        if row.locked_until and row.locked_until > utc_now()
        else None,
        "disabled": row.disabled_at is not None,
        "must_change_password": bool(row.must_change_password),
        "two_factor": row.totp_enabled_at is not None,
    }


async def webhook_url(request: web.Request, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return await checked_webhook_url(value, request.app[OPTIONS].webhook_policy)
    except WebhookUrlError as exc:
        raise ApiError(422, "invalid_url", str(exc), "webhook_url") from None


async def me(request: web.Request) -> web.Response:
    identity = who(request)
    return web.json_response(
        {
            "kind": identity.kind,
            "id": identity.id,
            "name": identity.name,
            "role": identity.role.value,
            "csrf_token": identity.csrf_token,
        }
    )


async def change_own_password(request: web.Request) -> web.Response:
    identity = who(request)
    if identity.kind != "user":
        raise ApiError(403, "forbidden", "API keys have no password")
    body = await read_model(request, PasswordChange)
    result = await request.app[OWN_PASSWORD].change(
        identity, request[CLIENT_ADDRESS], body.current_password, body.new_password
    )
    if result.outcome == "changed":
        await announce_sessions_ended(request.app[BUS], identity.id)
    if result.outcome == "throttled":
        return error_response(
            429,
            "too_many_attempts",
            "too many failed attempts from this address; try again later",
            headers={"Retry-After": "60"},
        )
    if result.outcome == "busy":
        return error_response(
            503,
            "busy",
            "too many password checks at once; try again shortly",
            headers={"Retry-After": "2"},
        )
    if result.outcome == "wrong_password":
        raise ApiError(422, "wrong_password", "the current password is wrong", "current_password")
    if result.outcome == "weak_password":
        raise ApiError(422, "weak_password", result.reason, "new_password")
    return web.json_response({"changed": True, "sign_in_again": True})


@requires(Role.ADMIN)
async def list_keys(request: web.Request) -> web.Response:
    async with request.app[DB].read() as conn:
        rows = (await conn.execute(select(api_keys).order_by(api_keys.c.id))).all()
    return web.json_response({"api_keys": [key_json(row) for row in rows]})


@requires(Role.ADMIN)
async def create_key(request: web.Request) -> web.Response:
    body = await read_model(request, ApiKeyCreate)
    identity = who(request)
    url = await webhook_url(request, body.webhook_url)
    if body.account_id is not None:
        account = await request.app[ACCOUNTS].current(body.account_id)
        if account is None or account.revoked:
            raise ApiError(422, "unknown_account", "no live account has this id", "account_id")
    async with request.app[DB].begin() as conn:
        try:
            new = await create_api_key(
                conn,
                body.name,
                body.role,
                webhook_url=url,
                created_by=identity.id if identity.kind == "user" else None,
                account_id=body.account_id,
            )
        except ApiKeyError as exc:
            raise ApiError(422, "invalid_value", str(exc), "name") from None
        await record(
            conn,
            identity.actor,
            "api_key.create",
            f"api_key:{new.id}",
            {"name": new.name, "role": new.role.value, "account_id": body.account_id},
            request[CLIENT_ADDRESS],
        )
        row = (await conn.execute(select(api_keys).where(api_keys.c.id == new.id))).one()
    return web.json_response(
        {**key_json(row), "key": new.key, "webhook_secret": new.webhook_secret}, status=201
    )


async def _key_row(request: web.Request, key_id: int) -> Any:
    async with request.app[DB].read() as conn:
        row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
    if row is None:
        raise not_found(f"API key {key_id}")
    return row


@requires(Role.ADMIN)
async def update_key(request: web.Request) -> web.Response:
    key_id = path_id(request)
    body = await read_model(request, ApiKeyUpdate)
    current = await _key_row(request, key_id)
    identity = who(request)
    # A field left out keeps its value (rotating the secret alone keeps the URL); null clears.
    sent_url = "webhook_url" in body.model_fields_set
    url = await webhook_url(request, body.webhook_url) if sent_url else current.webhook_url
    async with request.app[DB].begin() as conn:
        secret = await set_webhook(conn, key_id, url, new_secret=body.rotate_webhook_secret)
        await record(
            conn,
            identity.actor,
            "api_key.webhook",
            f"api_key:{key_id}",
            {"webhook_url": url, "secret_rotated": secret is not None},
            request[CLIENT_ADDRESS],
        )
    result = key_json(await _key_row(request, key_id))
    if secret is not None:
        result["webhook_secret"] = secret
    return web.json_response(result)


@requires(Role.ADMIN)
async def revoke_key(request: web.Request) -> web.Response:
    key_id = path_id(request)
    await _key_row(request, key_id)
    identity = who(request)
    async with request.app[DB].begin() as conn:
        revoked = await revoke_api_key(conn, key_id)
        if revoked:
            await record(
                conn,
                identity.actor,
                "api_key.revoke",
                f"api_key:{key_id}",
                None,
                request[CLIENT_ADDRESS],
            )
    if revoked:
        request.app[KEY_CACHE].forget_key(key_id)
        await announce_key_revoked(request.app[BUS], key_id)
    return web.json_response(key_json(await _key_row(request, key_id)))


@requires(Role.ADMIN)
async def list_users(request: web.Request) -> web.Response:
    async with request.app[DB].read() as conn:
        rows = (await conn.execute(select(users).order_by(users.c.username))).all()
    return web.json_response({"users": [user_json(row) for row in rows]})


@requires(Role.ADMIN)
async def create_user_api(request: web.Request) -> web.Response:
    body = await read_model(request, UserCreate)
    identity = who(request)
    password = body.password or generate_password()
    async with request.app[DB].begin() as conn:
        try:
            user_id = await create_user(
                conn,
                body.username,
                body.role,
                password,
                must_change_password=body.password is None,
                work=request.app[PASSWORD_WORK],
            )
        except UserError as exc:
            status = 409 if "already exists" in str(exc) else 422
            raise ApiError(status, "invalid_user", str(exc), "username") from None
        except WeakPassword as exc:
            raise ApiError(422, "weak_password", str(exc), "password") from None
        await record(
            conn,
            identity.actor,
            "user.create",
            body.username,
            {"id": user_id, "role": body.role},
            request[CLIENT_ADDRESS],
        )
        row = (await conn.execute(select(users).where(users.c.id == user_id))).one()
    generated = password if body.password is None else None
    return web.json_response({**user_json(row), "password": generated}, status=201)


@requires(Role.ADMIN)
async def update_user_api(request: web.Request) -> web.Response:
    user_id = path_id(request)
    body = await read_model(request, UserUpdate)
    identity = who(request)
    changes: dict[str, Any] = {}
    if body.role is not None:
        changes["role"] = body.role
    if body.disabled is not None:
        changes["disabled_at"] = utc_now() if body.disabled else None
    if body.unlock:
        changes.update(failed_logins=0, locked_until=None)
    if (
        identity.kind == "user"
        and user_id == identity.id
        and (body.disabled or (body.role is not None and body.role != Role.ADMIN.value))
    ):
        raise ApiError(409, "self_lockout", "admins cannot demote or disable themselves")
    if identity.kind == "user" and user_id == identity.id and body.password is not None:
        raise ApiError(
            409,
            "own_password",
            "change your own password with POST /api/v1/me/password (it asks for the current one)",
            "password",
        )
    async with request.app[DB].begin() as conn:
        row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
        if row is None:
            raise not_found(f"user {user_id}")
        sessions_ended = bool(changes) and await update_user(conn, user_id, **changes)
        if body.unlock:
            await throttle.forget_user(conn, row.username)
        if body.password is not None:
            try:
                await set_password(
                    conn, user_id, body.password, must_change=True, work=request.app[PASSWORD_WORK]
                )
            except WeakPassword as exc:
                raise ApiError(422, "weak_password", str(exc), "password") from None
            sessions_ended = True
        detail = {k: v for k, v in body.model_dump(exclude_none=True).items() if k != "password"}
        if body.password is not None:
            detail["password_reset"] = True
        await record(
            conn, identity.actor, "user.update", row.username, detail, request[CLIENT_ADDRESS]
        )
        row = (await conn.execute(select(users).where(users.c.id == user_id))).one()
    if sessions_ended:
        await announce_sessions_ended(request.app[BUS], user_id)
    return web.json_response(user_json(row))


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/v1/me", me, name="api.me")
    router.add_post("/api/v1/me/password", change_own_password, name="api.me_password")
    router.add_get("/api/v1/api-keys", list_keys, name="api.keys")
    router.add_post("/api/v1/api-keys", create_key, name="api.key_create")
    router.add_patch("/api/v1/api-keys/{id:[0-9]+}", update_key, name="api.key_update")
    router.add_post("/api/v1/api-keys/{id:[0-9]+}/revoke", revoke_key, name="api.key_revoke")
    router.add_get("/api/v1/users", list_users, name="api.users")
    router.add_post("/api/v1/users", create_user_api, name="api.user_create")
    router.add_patch("/api/v1/users/{id:[0-9]+}", update_user_api, name="api.user_update")
