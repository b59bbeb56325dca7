"""The modems page and one modem's details: identity, state, signal history, and the
operator's commands (USSD such as a balance check, restart) sent to gatewayd over the bus
(:mod:`webui.commands`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp_session import get_session

from gatewayd.events import CommandAnswer
from gatewayd.store import Role
from webui.audit import record
from webui.auth.identity import requires
from webui.commands import CommandClient, CommandFailed, CommandTimeout
from webui.i18n import gettext as _
from webui.keys import COMMAND_CLIENT, DB, OPTIONS, SENDING
from webui.views.common import (
    client_address,
    field,
    identity_of,
    notify,
    read_form,
    render,
)
from webui.views.figures import modem_figures
from webui.views.queries import idle_hosts, modem_cards, signal_history

USSD_CODE_CHARACTERS = frozenset("0123456789*#+")
USSD_KEY = "ussd_answer"


Ask = Callable[[CommandClient, float], Awaitable[CommandAnswer]]


async def ask_gateway(request: web.Request, ask: Ask) -> dict[str, Any]:
    """gatewayd's answer to what ``ask`` sends, failures included (shown on the page)."""
    try:
        answer = await ask(request.app[COMMAND_CLIENT], request.app[OPTIONS].command_timeout)
    except CommandTimeout:
        return {"ok": False, "error": _("The modem did not answer in time.")}
    except CommandFailed as failure:
        return {"ok": False, "error": str(failure)}
    return {"ok": True, "text": answer.text}


async def modems_page(request: web.Request) -> web.StreamResponse:
    plans = await request.app[SENDING].preferences.sim_plans()
    async with request.app[DB].read() as conn:
        cards = await modem_cards(conn)
        idle = await idle_hosts(conn)
        figures = await modem_figures(conn, plans)
    context = {"cards": cards, "idle_hosts": idle, "figures": figures}
    return await render(request, "modems.html", context, page="modems")


async def _ussd_answer(request: web.Request, name: str) -> dict[str, Any] | None:
    """The answer of the USSD code just sent from this page (shown once, after the redirect)."""
    session = await get_session(request)
    answer = session.pop(USSD_KEY, None)
    return answer if isinstance(answer, dict) and answer.get("modem") == name else None


async def modem_page(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    plans = await request.app[SENDING].preferences.sim_plans()
    async with request.app[DB].read() as conn:
        cards = [card for card in await modem_cards(conn) if card.name == name]
        history = await signal_history(conn, name)
        figures = await modem_figures(conn, plans)
    if not cards:
        raise web.HTTPNotFound(text=_("Not found."))
    context = {
        "card": cards[0],
        "history": history,
        "ussd": await _ussd_answer(request, name),
        "figures": figures,
        "plan": plans.get(name),
    }
    return await render(request, "modem.html", context, page="modems")


async def signal_json(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    async with request.app[DB].read() as conn:
        history = await signal_history(conn, name)
    return web.json_response(
        {"points": [{"at": at.isoformat(), "dbm": dbm} for at, dbm in history]}
    )


@requires(Role.OPERATOR)
async def ussd(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    form = await read_form(request)
    code = field(form, "code", 40)
    if not code or not set(code) <= USSD_CODE_CHARACTERS:
        answer: dict[str, Any] = {"ok": False, "error": _("A USSD code has digits, * and #.")}
    else:
        answer = await ask_gateway(request, lambda client, wait: client.ussd(name, code, wait))
        async with request.app[DB].begin() as conn:
            await record(
                conn,
                identity_of(request).actor,
                "modem.ussd",
                f"modem:{name}",
                {"code": code, "ok": bool(answer.get("ok"))},
                client_address(request),
            )
    session = await get_session(request)
    session[USSD_KEY] = {"modem": name, "code": code, **answer}
    # Post, then redirect: the address bar shows the modem's page, a reload sends nothing.
    raise web.HTTPSeeOther(f"/modems/{quote(name, safe='')}#ussd")


@requires(Role.ADMIN)
async def restart(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    answer = await ask_gateway(request, lambda client, wait: client.restart(name, wait))
    async with request.app[DB].begin() as conn:
        await record(
            conn,
            identity_of(request).actor,
            "modem.restart",
            f"modem:{name}",
            {"ok": bool(answer.get("ok"))},
            client_address(request),
        )
    if answer.get("ok"):
        await notify(request, _("Restart requested."))
    else:
        await notify(request, str(answer.get("error") or _("Restart failed.")), "error")
    raise web.HTTPSeeOther(f"/modems/{quote(name, safe='')}")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/modems", modems_page, name="modems")
    router.add_get("/modems/{name}", modem_page, name="modem")
    router.add_get("/modems/{name}/signal.json", signal_json)
    router.add_post("/modems/{name}/ussd", ussd)
    router.add_post("/modems/{name}/restart", restart)
