"""``GET /api/health`` (no login): database, Redis, gateway and modems checks for load
balancers and the runbook's ``curl -f``. 200 for ``ok`` and ``degraded``, 503 for ``fail``.

``checks.modems`` reads what the running gatewayd hosts said they run
(:mod:`gatewayd.queue.host_state`): ``none`` when none has an enabled modem (they run idle and send
nothing), ``not_online`` when one of their modems is not online, ``unknown`` when no gatewayd
has said (not started, or stopped).

``checks.queue`` is ``stuck`` when messages have been due (queued, their send time and retry
time passed) for more than two minutes and no message left the queue (sent, delivered or
failed) in that time, and none is being sent: the queue is not moving
(:mod:`webui.services.queue_health`, shared with the ``queue_stuck`` alert). Either makes the
status ``degraded``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from gatewayd.queue.host_state import GatewayHost, live_hosts
from gatewayd.store import DatabaseUnavailable, modems, utc_now
from webui.auth.identity import public
from webui.keys import BUS, DB
from webui.services.queue_health import queue_check

GATEWAY_FRESHNESS = timedelta(minutes=2)
CHECK_TIMEOUT = 5.0
DEGRADING_MODEMS = ("none", "not_online")


@dataclass
class Findings:
    checks: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


async def database_gateway_modems(request: web.Request, found: Findings) -> None:
    now = utc_now()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), request.app[DB].read() as conn:
            newest = (await conn.execute(select(func.max(modems.c.last_seen)))).scalar()
            hosts = await live_hosts(conn)
            rows = await conn.execute(select(modems.c.name, modems.c.state))
            states = {row.name: row.state for row in rows}
            found.checks["queue"] = await queue_check(conn, now, found.details)
    except (DatabaseUnavailable, TimeoutError) as exc:
        found.details["database"] = str(exc) or "no answer"
        found.checks.update(database="fail", gateway="unknown", modems="unknown", queue="unknown")
        return
    found.checks["database"] = "ok"
    if newest is None:
        found.details["gateway"] = "no modem has reported yet"
        found.checks["gateway"] = "stale"
    else:
        age = now - newest
        found.details["gateway_last_seen_seconds"] = round(age.total_seconds(), 1)
        found.checks["gateway"] = "ok" if age <= GATEWAY_FRESHNESS else "stale"
    found.checks["modems"] = modems_check(hosts, states, found.details)


def modems_check(hosts: list[GatewayHost], states: dict[str, str], details: dict[str, Any]) -> str:
    if not hosts:
        return "unknown"
    enabled = [name for host in hosts for name in host.modems]
    if not enabled:
        names = ", ".join(host.host for host in hosts)
        details["modems"] = f"no enabled modem: gatewayd on {names} runs idle and sends nothing"
        return "none"
    not_online = sorted(name for name in enabled if states.get(name) != "online")
    if not_online:
        details["modems_not_online"] = not_online
        return "not_online"
    return "ok"


async def redis_check(request: web.Request) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            answered = await request.app[BUS].ping()
    except TimeoutError:
        return "fail"
    return "disabled" if answered is None else "ok" if answered else "fail"


@public
async def health(request: web.Request) -> web.Response:
    found = Findings()
    _, redis = await asyncio.gather(database_gateway_modems(request, found), redis_check(request))
    checks = {"database": found.checks["database"], "redis": redis}
    checks |= {
        "gateway": found.checks["gateway"],
        "modems": found.checks["modems"],
        "queue": found.checks.get("queue", "unknown"),
    }
    if checks["database"] == "fail":
        status = "fail"
    elif (
        redis == "fail"
        or checks["gateway"] != "ok"
        or checks["modems"] in DEGRADING_MODEMS
        or checks["queue"] == "stuck"
    ):
        status = "degraded"
    else:
        status = "ok"
    body = {"status": status, "checks": checks, "details": found.details}
    return web.json_response(body, status=503 if status == "fail" else 200)
