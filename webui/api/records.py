"""Admin views of records: the audit log and webhook deliveries (with replay)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select, update

from gatewayd.queue.view import iso
from gatewayd.store import Role, utc_now, webhook_deliveries
from webui.api.inputs import cursor_before, encode_cursor, path_id, query_int, query_time
from webui.audit import record
from webui.auth.identity import requires
from webui.errors import ApiError, not_found
from webui.keys import CLIENT_ADDRESS, DB, DISPATCHER, IDENTITY
from webui.services.listing import AuditFilter, audit_query

DELIVERY_STATUSES = ("pending", "delivered", "failed")


def audit_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": iso(row.at),
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "detail": row.detail,
        "client_address": row.client_address,
    }


def delivery_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "event": row.event,
        "url": row.url,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": iso(row.next_attempt_at),
        "last_error": row.last_error,
        "response_status": row.response_status,
        "created_at": iso(row.created_at),
        "delivered_at": iso(row.delivered_at),
        "message_id": row.message_id,
        "api_key_id": row.api_key_id,
        "payload": row.payload,
    }


def _bounded(request: web.Request, name: str, limit: int) -> str:
    value = request.query.get(name, "")
    if len(value) > limit:
        raise ApiError(422, "invalid_value", f"{name} has at most {limit} characters", name)
    return value


@requires(Role.ADMIN)
async def list_audit(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 100, 1, 500)
    wanted = AuditFilter(
        actor=_bounded(request, "actor", 100),
        action=_bounded(request, "action", 64),
        q=_bounded(request, "q", 100).strip(),
        since=query_time(request, "since"),
        until=query_time(request, "until"),
        before=cursor_before(request),
    )
    async with request.app[DB].read() as conn:
        rows = (await conn.execute(audit_query(wanted, limit + 1))).all()
    next_cursor = encode_cursor({"before": rows[limit - 1].id}) if len(rows) > limit else None
    return web.json_response(
        {"entries": [audit_json(row) for row in rows[:limit]], "next_cursor": next_cursor}
    )


@requires(Role.ADMIN)
async def list_deliveries(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 100, 1, 500)
    before = cursor_before(request)
    query = select(webhook_deliveries).order_by(webhook_deliveries.c.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(webhook_deliveries.c.id < before)
    status = request.query.get("status")
    if status is not None:
        if status not in DELIVERY_STATUSES:
            raise ApiError(
                422,
                "invalid_value",
                f"status must be one of {', '.join(DELIVERY_STATUSES)}",
                "status",
            )
        query = query.where(webhook_deliveries.c.status == status)
    async with request.app[DB].read() as conn:
        rows = (await conn.execute(query)).all()
    next_cursor = encode_cursor({"before": rows[limit - 1].id}) if len(rows) > limit else None
    return web.json_response(
        {"deliveries": [delivery_json(row) for row in rows[:limit]], "next_cursor": next_cursor}
    )


@requires(Role.ADMIN)
async def replay_delivery(request: web.Request) -> web.Response:
    """Send a delivery again (whatever its state): it becomes pending with fresh attempts."""
    delivery_id = path_id(request)
    identity = request[IDENTITY]
    assert identity is not None
    async with request.app[DB].begin() as conn:
        result = await conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery_id)
            .values(status="pending", attempts=0, next_attempt_at=utc_now(), last_error=None)
            .returning(*webhook_deliveries.c)
        )
        row = result.first()
        if row is None:
            raise not_found(f"webhook delivery {delivery_id}")
        await record(
            conn,
            identity.actor,
            "webhook.replay",
            f"delivery:{delivery_id}",
            {"url": row.url},
            request[CLIENT_ADDRESS],
        )
    dispatcher = request.app.get(DISPATCHER)
    if dispatcher is not None:
        dispatcher.wake.set()
    return web.json_response(delivery_json(row), status=202)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/v1/audit", list_audit, name="api.audit")
    router.add_get("/api/v1/webhooks/deliveries", list_deliveries, name="api.deliveries")
    router.add_post(
        "/api/v1/webhooks/deliveries/{id:[0-9]+}/replay",
        replay_delivery,
        name="api.delivery_replay",
    )
