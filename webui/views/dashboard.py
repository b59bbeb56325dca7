"""The dashboard (modem cards, queue figures, charts of the last 24 hours), the JSON its
scripts refresh from, and the GSM 03.38 tables the compose counter needs."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from aiohttp import web

from gatewayd.sms import gsm7
from gatewayd.sms.segment import CONCAT_HEADER_OCTETS, MAX_PARTS, part_capacity
from webui.auth.identity import public
from webui.keys import DB
from webui.views.common import render
from webui.views.queries import idle_hosts, last_24_hours, modem_cards, queue_summary


async def dashboard(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].read() as conn:
        cards = await modem_cards(conn)
        summary = await queue_summary(conn)
        idle = await idle_hosts(conn)
    context = {"cards": cards, "summary": summary, "idle_hosts": idle}
    return await render(request, "dashboard.html", context, page="dashboard")


def _card_json(card: Any) -> dict[str, Any]:
    data = asdict(card)
    data["last_seen"] = card.last_seen.isoformat() if card.last_seen else None
    return data


async def dashboard_json(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].read() as conn:
        cards = await modem_cards(conn)
        summary = await queue_summary(conn)
    return web.json_response({"summary": summary, "modems": [_card_json(c) for c in cards]})


async def charts_json(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].read() as conn:
        return web.json_response(await last_24_hours(conn))


@cache
def gsm7_tables() -> dict[str, Any]:
    """What the browser counter needs to count exactly as :func:`gatewayd.sms.segment_info`."""
    extension = sorted(gsm7.EXTENSION_CHARS)
    basic = sorted(gsm7.GSM7_CHARS - gsm7.EXTENSION_CHARS)
    return {
        "basic": "".join(basic),
        "extension": "".join(extension),
        "gsm7": {
            "single": part_capacity("gsm7", 0),
            "multi": part_capacity("gsm7", CONCAT_HEADER_OCTETS),
        },
        "ucs2": {
            "single": part_capacity("ucs2", 0),
            "multi": part_capacity("ucs2", CONCAT_HEADER_OCTETS),
        },
        "max_parts": MAX_PARTS,
    }


@public
async def gsm7_json(request: web.Request) -> web.StreamResponse:
    return web.json_response(gsm7_tables(), headers={"Cache-Control": "public, max-age=86400"})


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/", dashboard, name="dashboard")
    router.add_get("/ui/dashboard.json", dashboard_json)
    router.add_get("/ui/charts.json", charts_json)
    router.add_get("/ui/gsm7.json", gsm7_json)
