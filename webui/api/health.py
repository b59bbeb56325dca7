"""``GET /api/health`` (no login): database, Redis and gateway checks for load balancers and
the runbook's ``curl -f``. 200 for ``ok`` and ``degraded``, 503 for ``fail``."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from gatewayd.bus import RedisBus
from gatewayd.store import DatabaseUnavailable, modems, utc_now
from webui.auth.identity import public
from webui.keys import BUS, DB

GATEWAY_FRESHNESS = timedelta(minutes=2)
CHECK_TIMEOUT = 5.0


async def database_and_gateway(request: web.Request) -> tuple[str, str, dict[str, Any]]:
    details: dict[str, Any] = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), request.app[DB].read() as conn:
            newest = (await conn.execute(select(func.max(modems.c.last_seen)))).scalar()
    except (DatabaseUnavailable, TimeoutError) as exc:
        details["database"] = str(exc) or "no answer"
        return "fail", "unknown", details
    if newest is None:
        details["gateway"] = "no modem has reported yet"
        return "ok", "stale", details
    age = utc_now() - newest
    details["gateway_last_seen_seconds"] = round(age.total_seconds(), 1)
    return "ok", ("ok" if age <= GATEWAY_FRESHNESS else "stale"), details


async def redis_check(request: web.Request) -> str:
    bus = request.app[BUS]
    if not isinstance(bus, RedisBus):
        return "disabled"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return "ok" if await bus.ping() else "fail"
    except TimeoutError:
        return "fail"


@public
async def health(request: web.Request) -> web.Response:
    (database, gateway, details), redis = await asyncio.gather(
        database_and_gateway(request), redis_check(request)
    )
    if database == "fail":
        status = "fail"
    elif redis == "fail" or gateway != "ok":
        status = "degraded"
    else:
        status = "ok"
    body = {
        "status": status,
        "checks": {"database": database, "redis": redis, "gateway": gateway},
        "details": details,
    }
    return web.json_response(body, status=503 if status == "fail" else 200)
