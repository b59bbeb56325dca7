"""``GET /api/metrics`` (JSON) and ``GET /metrics`` (Prometheus text): the runbook's figures.

Request latency p95, error rate and availability (non-5xx share) over the last 5 minutes and
the process's uptime; database up (a 1 s ping), pool use, query time p95, lock waits
(PostgreSQL); queue depth, message counts, delivery rate; per-modem state, signal, queue and
throughput; per gatewayd host its lease (alive, last renewal, time left, epoch), modems, parts
in flight, messages waiting for its modems and the takeovers of its work; failed
authentications by kind (sign-ins, SMPP binds, SMTP AUTH…) within the lockout window. A dead
database
still answers 200 with ``database_up`` false (``smsgw_database_up 0``) and the figures it
would have given as null. Open without login to ``metrics_allow`` addresses; others need a
login or key.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, get_args

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.host_state import HostLease, host_leases
from gatewayd.store import (
    DatabaseUnavailable,
    DeliveryStatus,
    MessageStatus,
    auth_failures,
    incoming_messages,
    message_parts,
    messages,
    smpp_deliveries,
    utc_now,
)
from webui.api.modems import modem_list
from webui.auth.throttle import FailureKind
from webui.dbstats import QUERY_TIMER, database_up, lock_waits
from webui.keys import DB, OPTIONS, STATS
from webui.middlewares import metrics_endpoint

COUNTED = [status.value for status in MessageStatus]
FAILURE_KINDS: tuple[str, ...] = get_args(FailureKind)
PROCESS_STARTED = time.time()


async def counts(conn: AsyncConnection, query: Select[Any]) -> dict[str, int]:
    return {str(key): int(value) for key, value in await conn.execute(query)}


async def message_figures(request: web.Request) -> dict[str, Any]:
    now = utc_now()
    day_ago, hour_ago = now - timedelta(days=1), now - timedelta(hours=1)
    lockout_window = now - timedelta(minutes=request.app[OPTIONS].failure_window_minutes)
    async with request.app[DB].read() as conn:
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
            (
                await conn.execute(
                    select(func.count()).where(incoming_messages.c.stored_at >= day_ago)
                )
            ).scalar_one()
        )
        hosts = [host_figures(lease) for lease in await host_leases(conn)]
        hourly = await counts(
            conn,
            select(message_parts.c.modem, func.count())
            .where(message_parts.c.sent_at >= hour_ago)
            .group_by(message_parts.c.modem),
        )
        smpp_pending = int(
            (
                await conn.execute(
                    select(func.count()).where(
                        smpp_deliveries.c.status == DeliveryStatus.PENDING.value
                    )
                )
            ).scalar_one()
        )
        failures = await counts(
            conn,
            select(auth_failures.c.kind, func.count())
            .where(auth_failures.c.at > lockout_window)
            .group_by(auth_failures.c.kind),
        )
    modem_rows = await modem_list(request)
    finished = sum(recent.get(s, 0) for s in ("delivered", "failed", "expired"))
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
        "smpp": {"outbox_pending": smpp_pending},
        "auth_failures": {kind: int(failures.get(kind, 0)) for kind in FAILURE_KINDS},
        "modems": [
            {
                "name": m["name"],
                "state": m["state"],
                "online": m["state"] == "online",
                "signal": m["signal"],
                "queue_depth": m["queue_depth"],
                "sent_today": m["sent_today"],
                "sent_last_hour": int(hourly.get(m["name"], 0)),
            }
            for m in modem_rows
        ],
        "hosts": hosts,
    }


def host_figures(lease: HostLease) -> dict[str, Any]:
    last = lease.last_takeover
    return {
        "host": lease.host,
        "state": lease.state,
        "alive": lease.alive,
        "epoch": lease.epoch,
        "modems": list(lease.modems),
        "renewed_at": lease.renewed_at.isoformat(),
        "renewed_seconds_ago": lease.renewed_seconds_ago,
        "expires_in_seconds": lease.expires_in_seconds,
        "in_flight_parts": lease.in_flight_parts,
        "waiting_messages": lease.waiting_messages,
        "takeovers": lease.takeovers,
        "last_takeover": None
        if last is None
        else {
            "by": last.by,
            "at": last.at.isoformat(),
            "epoch": last.epoch,
            "unknown_parts": last.unknown_parts,
            "requeued_messages": last.requeued_messages,
            "failed_over": last.failed_over,
            "waiting": last.waiting,
        },
    }


def unknown_message_figures() -> dict[str, Any]:
    """What :func:`message_figures` gives while the database cannot answer."""
    return {
        "queue": {"depth": None, "queued": None, "sending": None},
        "messages": {s: None for s in [*COUNTED, "received"]},
        "last_24h": {s: None for s in ("sent", "delivered", "failed", "expired", "received")},
        "delivery_rate": None,
        "smpp": {"outbox_pending": None},
        "auth_failures": {kind: None for kind in FAILURE_KINDS},
        "modems": [],
        "hosts": [],
    }


def availability(requests: dict[str, Any]) -> dict[str, Any]:
    """Non-5xx share of the window's requests (None without requests) and process uptime."""
    served = requests["requests"]
    return {
        "window_seconds": requests["window_seconds"],
        "non_5xx_share": round(1 - requests["error_rate"], 4) if served else None,
        "uptime_seconds": round(time.time() - PROCESS_STARTED, 1),
    }


async def figures(request: web.Request) -> dict[str, Any]:
    db = request.app[DB]
    up = await database_up(db)
    data: dict[str, Any] = unknown_message_figures()
    waits: dict[str, Any] | None = None
    if up:
        try:
            data = await message_figures(request)
            waits = await lock_waits(db)
        except DatabaseUnavailable:
            up = False
    pool = db.pool_status()
    requests = request.app[STATS].summary()
    queries = request.app[QUERY_TIMER].summary()
    return {
        "database_up": up,
        **data,
        "requests": requests,
        "availability": availability(requests),
        "database": {
            "up": up,
            "pool": pool,
            "pool_use": round(pool["checked_out"] / max(1, pool["size"]), 4),
            "query_p95_ms": queries["p95_ms"],
            "queries": queries,
            "lock_waits": waits,
        },
    }


@metrics_endpoint
async def metrics_json(request: web.Request) -> web.Response:
    return web.json_response(await figures(request))


def prometheus_text(data: dict[str, Any], process_registry: CollectorRegistry) -> bytes:
    registry = CollectorRegistry()

    def gauge(name: str, doc: str, value: float | None) -> None:
        metric = Gauge(name, doc, registry=registry)
        if value is not None:
            metric.set(value)

    def seconds(milliseconds: float | None) -> float | None:
        return milliseconds / 1000 if milliseconds is not None else None

    database = data["database"]
    requests = data["requests"]
    gauge(
        "smsgw_database_up",
        "1 when the database answered a ping within 1 s",
        1 if data["database_up"] else 0,
    )
    gauge("smsgw_queue_depth", "Messages queued or sending", data["queue"]["depth"])
    gauge(
        "smsgw_smpp_outbox_pending",
        "deliver_sm (receipts, incoming SMS) waiting for an SMPP client to acknowledge them",
        data["smpp"]["outbox_pending"],
    )
    failure_gauge = Gauge(
        "smsgw_auth_failures",
        "Failed authentications within the lockout window, by kind (password, smpp, smtp...)",
        ["kind"],
        registry=registry,
    )
    for kind, count in data["auth_failures"].items():
        if count is not None:
            failure_gauge.labels(kind).set(count)
    status_gauge = Gauge("smsgw_messages", "Messages by status", ["status"], registry=registry)
    for status, count in data["messages"].items():
        if count is not None:
            status_gauge.labels(status).set(count)
    gauge(
        "smsgw_delivery_rate",
        "Delivered share of finished messages, last 24 h",
        data["delivery_rate"],
    )
    gauge(
        "smsgw_http_latency_p95_seconds",
        "Request latency p95 over the window",
        seconds(requests["latency_p95_ms"]),
    )
    gauge("smsgw_http_error_rate", "Share of 5xx responses over the window", requests["error_rate"])
    gauge(
        "smsgw_http_availability",
        "Share of non-5xx responses over the window",
        data["availability"]["non_5xx_share"],
    )
    gauge(
        "smsgw_uptime_seconds",
        "Seconds since this web process started",
        data["availability"]["uptime_seconds"],
    )
    gauge("smsgw_db_pool_use", "Checked-out share of the connection pool", database["pool_use"])
    gauge(
        "smsgw_db_query_p95_seconds",
        "Query time p95 over the window",
        seconds(database["query_p95_ms"]),
    )
    waits = database["lock_waits"]
    gauge(
        "smsgw_db_lock_waits",
        "Lock requests not granted (PostgreSQL)",
        waits["waiting_locks"] if waits else None,
    )
    gauge(
        "smsgw_db_lock_wait_share",
        "Share of client backends waiting on a lock (PostgreSQL)",
        waits["share"] if waits else None,
    )
    per_modem = {
        "signal": Gauge("smsgw_modem_signal_dbm", "Modem signal", ["modem"], registry=registry),
        "sent_last_hour": Gauge(
            "smsgw_modem_sent_last_hour",
            "Parts sent in the last hour",
            ["modem"],
            registry=registry,
        ),
        "queue_depth": Gauge(
            "smsgw_modem_queue_depth",
            "Messages waiting for the modem",
            ["modem"],
            registry=registry,
        ),
        "online": Gauge(
            "smsgw_modem_online", "1 when the modem is online", ["modem"], registry=registry
        ),
    }
    for modem in data["modems"]:
        for key, metric in per_modem.items():
            value = modem[key]
            if value is not None:
                metric.labels(modem["name"]).set(int(value) if isinstance(value, bool) else value)
    host_gauges(data["hosts"], registry)
    return generate_latest(registry) + generate_latest(process_registry)


HOST_GAUGES = {
    "alive": ("smsgw_host_alive", "1 while the gatewayd host's lease has not run out"),
    "lost": (
        "smsgw_host_lost",
        "1 when the host did not stop cleanly and its lease has run out",
    ),
    "renewed_seconds_ago": (
        "smsgw_host_lease_renewed_seconds_ago",
        "Seconds since the host last renewed its lease (database clock)",
    ),
    "expires_in_seconds": (
        "smsgw_host_lease_expires_in_seconds",
        "Seconds until the host's lease runs out; negative once it has",
    ),
    "epoch": ("smsgw_host_lease_epoch", "The epoch the host holds its lease at"),
    "modem_count": ("smsgw_host_modems", "Modems the host runs"),
    "in_flight_parts": ("smsgw_host_in_flight_parts", "Parts committed sending under its claims"),
    "waiting_messages": (
        "smsgw_host_waiting_messages",
        "Queued messages only the host's modems may send",
    ),
    "takeovers": ("smsgw_host_takeovers", "Times the host's work was taken over"),
}


def host_gauges(hosts: list[dict[str, Any]], registry: CollectorRegistry) -> None:
    gauges = {
        key: Gauge(name, doc, ["host"], registry=registry)
        for key, (name, doc) in HOST_GAUGES.items()
    }
    for host in hosts:
        lost = not host["alive"] and host["state"] != "stopped"
        values = {
            **host,
            "modem_count": len(host["modems"]),
            "alive": int(host["alive"]),
            "lost": int(lost),
        }
        for key, gauge in gauges.items():
            if values[key] is not None:
                gauge.labels(host["host"]).set(values[key])


@metrics_endpoint
async def metrics_prometheus(request: web.Request) -> web.Response:
    body = prometheus_text(await figures(request), request.app[STATS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/metrics", metrics_json, name="api.metrics")
    router.add_get("/metrics", metrics_prometheus, name="metrics")
