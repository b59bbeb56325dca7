"""``/api/v1/modems``: modem state as gatewayd last wrote it, the gatewayd hosts running (an
idle one has no enabled modem), USSD and restart commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from gatewayd.events import CommandAnswer
from gatewayd.queue.host_state import live_hosts
from gatewayd.queue.view import iso
from gatewayd.store import MessageStatus, Role, messages, modems, utc_now
from webui.api.inputs import read_model
from webui.api.models import UssdRequest
from webui.audit import record
from webui.auth.identity import requires
from webui.commands import CommandClient, CommandFailed, CommandTimeout
from webui.errors import ApiError, not_found
from webui.keys import CLIENT_ADDRESS, COMMAND_CLIENT, DB, IDENTITY, OPTIONS, SETTINGS

WAITING = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value)


async def modem_list(request: web.Request) -> list[dict[str, Any]]:
    today = utc_now().date().isoformat()
    owner = func.coalesce(messages.c.assigned_modem, messages.c.modem)
    async with request.app[DB].read() as conn:
        rows = {row.name: row for row in await conn.execute(select(modems))}
        depth = {
            name: count
            for name, count in await conn.execute(
                select(owner, func.count()).where(messages.c.status.in_(WAITING)).group_by(owner)
            )
        }
    result = []
    configured = [m.name for m in request.app[SETTINGS].modems]
    for name in sorted(set(rows) | set(configured)):
        row = rows.get(name)
        result.append(
            {
                "name": name,
                "state": row.state if row else "offline",
                "imei": row.imei if row else None,
                "imsi": row.imsi if row else None,
                "operator": row.operator if row else None,
                "signal": row.signal_dbm if row else None,
                "registration": row.registration if row else None,
                "queue_depth": int(depth.get(name, 0)),
                "sent_today": row.sent_today if row and row.sent_today_date == today else 0,
                "last_seen": iso(row.last_seen) if row else None,
                "host": row.host if row else None,
            }
        )
    return result


async def gateway_list(request: web.Request) -> list[dict[str, Any]]:
    """The gatewayd hosts running now; one with no modem is idle and sends nothing."""
    async with request.app[DB].read() as conn:
        hosts = await live_hosts(conn)
    return [
        {"host": h.host, "state": h.state, "modems": list(h.modems), "seen_at": iso(h.seen_at)}
        for h in hosts
    ]


async def list_modems(request: web.Request) -> web.Response:
    return web.json_response(
        {"modems": await modem_list(request), "gateways": await gateway_list(request)}
    )


async def _existing(request: web.Request) -> str:
    name = request.match_info["name"]
    if name in {m.name for m in request.app[SETTINGS].modems}:
        return name
    async with request.app[DB].read() as conn:
        found = (await conn.execute(select(modems.c.name).where(modems.c.name == name))).first()
    if found is None:
        raise not_found(f"modem {name!r}", "name")
    return name


async def _command(
    request: web.Request, ask: Callable[[CommandClient, float], Awaitable[CommandAnswer]]
) -> CommandAnswer:
    try:
        return await ask(request.app[COMMAND_CLIENT], request.app[OPTIONS].command_timeout)
    except CommandTimeout as exc:
        raise ApiError(504, "gateway_timeout", f"{exc}; is gatewayd running?") from None
    except CommandFailed as exc:
        raise ApiError(502, "modem_error", str(exc)) from None


@requires(Role.OPERATOR)
async def ussd(request: web.Request) -> web.Response:
    body = await read_model(request, UssdRequest)
    name = await _existing(request)
    identity = request[IDENTITY]
    assert identity is not None
    async with request.app[DB].begin() as conn:
        await record(
            conn,
            identity.actor,
            "modem.ussd",
            f"modem:{name}",
            {"code": body.code},
            request[CLIENT_ADDRESS],
        )
    answer = await _command(request, lambda client, wait: client.ussd(name, body.code, wait))
    return web.json_response({"modem": name, "code": body.code, "text": str(answer.text)})


@requires(Role.ADMIN)
async def restart(request: web.Request) -> web.Response:
    name = await _existing(request)
    identity = request[IDENTITY]
    assert identity is not None
    async with request.app[DB].begin() as conn:
        await record(
            conn, identity.actor, "modem.restart", f"modem:{name}", None, request[CLIENT_ADDRESS]
        )
    await _command(request, lambda client, wait: client.restart(name, wait))
    return web.json_response({"modem": name, "restarted": True})


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/v1/modems", list_modems, name="api.modems")
    router.add_post("/api/v1/modems/{name}/ussd", ussd, name="api.ussd")
    router.add_post("/api/v1/modems/{name}/restart", restart, name="api.modem_restart")
