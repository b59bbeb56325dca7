"""The hosts page: every gatewayd host sharing this database, from its lease — alive or not,
its last renewal, its modems, the parts it has in flight, the messages waiting for its modems,
and the takeovers of its work when its lease expired (:mod:`gatewayd.queue.host_state`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gatewayd.queue.host_state import HostLease, host_leases
from webui.keys import DB
from webui.views.common import render


def shown_state(lease: HostLease) -> str:
    """What the page calls the host: its state, or ``lease_expired`` when its lease ran out
    and no host has taken its work over yet."""
    if lease.state in ("running", "idle") and not lease.alive:
        return "lease_expired"
    return lease.state


async def hosts_page(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].read() as conn:
        leases = await host_leases(conn)
    rows: list[dict[str, Any]] = [{"lease": lease, "state": shown_state(lease)} for lease in leases]
    context = {
        "hosts": rows,
        "dead": sum(1 for lease in leases if not lease.alive and lease.state != "stopped"),
    }
    return await render(request, "hosts.html", context, page="hosts")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/hosts", hosts_page, name="hosts")
