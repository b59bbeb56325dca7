"""``GET /api/metrics`` (JSON) and ``GET /metrics`` (Prometheus text): queue, message counts,
delivery rate, request latency p95 and error rate, DB pool use, per-modem signal and
throughput. Open without login to ``metrics_allow`` addresses; others need a login or key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import MessageStatus, incoming_messages, message_parts, messages, utc_now
from webui.api.modems import modem_list
from webui.keys import DB, STATS
from webui.middlewares import metrics_endpoint

COUNTED = [status.value for status in MessageStatus]


async def counts(conn: AsyncConnection, query: Select[Any]) -> dict[str, int]:
    return {str(key): int(value) for key, value in await conn.execute(query)}


async def figures(request: web.Request) -> dict[str, Any]:
    db = request.app[DB]
    now = utc_now()
    day_ago, hour_ago = now - timedelta(days=1), now - timedelta(hours=1)
    async with db.read() as conn:
        by_status = await counts(
            conn, select(messages.c.status, func.count()).group_by(messages.c.status)
        )
        recent = await counts(
            conn,
            select(messages.c.status, func.count())
            .where(messages.c.updated_at >= day_ago)
            .group_by(messages.c.status),
        )
        received = int(
            (await conn.execute(select(func.count()).select_from(incoming_messages))).scalar_one()
        )
        received_24h = int(
            (await conn.execute(
                select(func.count()).where(incoming_messages.c.stored_at >= day_ago)
            )).scalar_one()
        )
        hourly = await counts(
            conn,
            select(message_parts.c.modem, func.count())
            .where(message_parts.c.sent_at >= hour_ago)
            .group_by(message_parts.c.modem),
        )
    modem_rows = await modem_list(request)
    finished = sum(recent.get(s, 0) for s in ("delivered", "failed", "expired"))
    pool = db.pool_status()
    size = max(1, pool["size"])
    return {
        "queue": {
            "depth": by_status.get("queued", 0) + by_status.get("sending", 0),
            "queued": by_status.get("queued", 0),
            "sending": by_status.get("sending", 0),
        },
        "messages": {**{s: int(by_status.get(s, 0)) for s in COUNTED}, "received": received},
        "last_24h": {
            **{s: int(recent.get(s, 0)) for s in ("sent", "delivered", "failed", "expired")},
            "received": received_24h,
        },
        "delivery_rate": round(recent.get("delivered", 0) / finished, 4) if finished else None,
        "requests": request.app[STATS].summary(),
        "database": {"pool": pool, "pool_use": round(pool["checked_out"] / size, 4)},
        "modems": [
            {
                "name": m["name"],
                "state": m["state"],
                "signal": m["signal"],
                "queue_depth": m["queue_depth"],
                "sent_today": m["sent_today"],
                "sent_last_hour": int(hourly.get(m["name"], 0)),
            }
            for m in modem_rows
        ],
    }


@metrics_endpoint
async def metrics_json(request: web.Request) -> web.Response:
    return web.json_response(await figures(request))


def prometheus_text(data: dict[str, Any], process_registry: CollectorRegistry) -> bytes:
    registry = CollectorRegistry()

    def gauge(name: str, doc: str, value: float | None, **labels: str) -> None:
        metric = Gauge(name, doc, list(labels), registry=registry)
        if value is not None:
            (metric.labels(**labels) if labels else metric).set(value)

    gauge("smsgw_queue_depth", "Messages queued or sending", data["queue"]["depth"])
    status_gauge = Gauge("smsgw_messages", "Messages by status", ["status"], registry=registry)
    for status, count in data["messages"].items():
        status_gauge.labels(status).set(count)
    gauge("smsgw_delivery_rate", "Delivered share of finished messages, last 24 h",
          data["delivery_rate"])
    requests = data["requests"]
    p95 = requests["latency_p95_ms"]
    gauge("smsgw_http_latency_p95_seconds", "Request latency p95 over the window",
          p95 / 1000 if p95 is not None else None)
    gauge("smsgw_http_error_rate", "Share of 5xx responses over the window",
          requests["error_rate"])
    gauge("smsgw_db_pool_use", "Checked-out share of the connection pool",
          data["database"]["pool_use"])
    signal = Gauge("smsgw_modem_signal_dbm", "Modem signal", ["modem"], registry=registry)
    hourly = Gauge("smsgw_modem_sent_last_hour", "Parts sent in the last hour", ["modem"],
                   registry=registry)
    online = Gauge("smsgw_modem_online", "1 when the modem is online", ["modem"],
                   registry=registry)
    for modem in data["modems"]:
        if modem["signal"] is not None:
            signal.labels(modem["name"]).set(modem["signal"])
        hourly.labels(modem["name"]).set(modem["sent_last_hour"])
        online.labels(modem["name"]).set(1 if modem["state"] == "online" else 0)
    return generate_latest(registry) + generate_latest(process_registry)


@metrics_endpoint
async def metrics_prometheus(request: web.Request) -> web.Response:
    body = prometheus_text(await figures(request), request.app[STATS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/metrics", metrics_json, name="api.metrics")
    router.add_get("/metrics", metrics_prometheus, name="metrics")
