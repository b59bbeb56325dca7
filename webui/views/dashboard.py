"""The dashboard (modem cards with their figures, today's figures and delivery rate, the
traffic chart over 24 hours, 7 or 30 days), the JSON its scripts refresh from, and the GSM
03.38 tables the compose counter needs."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from aiohttp import web

from gatewayd.sms import gsm7
from gatewayd.sms.segment import CONCAT_HEADER_OCTETS, MAX_PARTS, part_capacity
from gatewayd.store import Role
from webui.auth.identity import public
from webui.keys import DB, SENDING
from webui.views.common import identity_of, render
from webui.views.countries import country_choices
from webui.views.figures import ModemFigures, modem_figures, traffic
from webui.views.queries import idle_hosts, modem_cards, queue_summary


async def dashboard(request: web.Request) -> web.StreamResponse:
    plans = await request.app[SENDING].preferences.sim_plans()
    async with request.app[DB].read() as conn:
        cards = await modem_cards(conn)
        summary = await queue_summary(conn)
        idle = await idle_hosts(conn)
        figures = await modem_figures(conn, plans)
    context: dict[str, Any] = {
        "cards": cards,
        "summary": summary,
        "idle_hosts": idle,
        "figures": figures,
    }
    preferences = request.app[SENDING].preferences
    if identity_of(request).has_role(Role.ADMIN) and await preferences.default_region() is None:
        # First run: numbers typed without + are refused until a country is chosen.
        context.update(ask_country=True, countries=country_choices(), country_next="/")
    return await render(request, "dashboard.html", context, page="dashboard")


def figures_json(figures: ModemFigures | None) -> dict[str, Any]:
    if figures is None:
        return {}
    today, month = figures.today, figures.month
    return {
        "today_sent": today.sent,
        "today_parts": today.sent_parts,
        "today_failed": today.failed,
        "today_rate": today.delivery_rate,
        "month_parts": month.sent_parts,
        "month_rate": month.delivery_rate,
        "plan": figures.plan,
        "plan_share": figures.plan_share,
    }


def _card_json(card: Any, figures: ModemFigures | None) -> dict[str, Any]:
    data = asdict(card)
    data["last_seen"] = card.last_seen.isoformat() if card.last_seen else None
    data["figures"] = figures_json(figures)
    return data


async def dashboard_json(request: web.Request) -> web.StreamResponse:
    plans = await request.app[SENDING].preferences.sim_plans()
    async with request.app[DB].read() as conn:
        cards = await modem_cards(conn)
        summary = await queue_summary(conn)
        figures = await modem_figures(conn, plans)
    return web.json_response(
        {"summary": summary, "modems": [_card_json(c, figures.get(c.name)) for c in cards]}
    )


async def charts_json(request: web.Request) -> web.StreamResponse:
    span = str(request.query.get("range", "24h"))
    async with request.app[DB].read() as conn:
        return web.json_response(await traffic(conn, span))


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
