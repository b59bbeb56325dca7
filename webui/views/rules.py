"""The rules page: the rules on incoming SMS in evaluation order with their counts and last
problems, a form for a new rule (match conditions and the common actions), enabling,
disabling and deleting, and the "test this message" box (``/rules/test.json``, which the
page's script calls as you type; the same answer without script through ``/rules?text=``).

Everything is :class:`~webui.services.rule_store.RuleStore`'s to check and audit.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDict

from gatewayd.store import Role
from webui.auth.identity import requires
from webui.i18n import gettext as _
from webui.keys import RULES
from webui.services.caller import Caller
from webui.services.errors import ServiceError
from webui.views.common import (
    client_address,
    field,
    identity_of,
    int_or_none,
    notify,
    path_id,
    read_form,
    render,
)

WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)


def _caller(request: web.Request) -> Caller:
    return Caller(identity_of(request).actor, client_address(request))


def rule_fields(form: MultiDict[str]) -> dict[str, Any]:
    """A rule as the page's form posts it: conditions, then one field per common action."""
    match: dict[str, Any] = {
        "keyword": field(form, "keyword", 64),
        "regex": field(form, "regex", 600),
        "from": field(form, "from", 40),
        "modem": field(form, "modem", 40),
    }
    days = [d for d in (int_or_none(v) for v in form.getall("weekday", [])) if d in WEEKDAYS]
    start, end = field(form, "start", 5), field(form, "end", 5)
    if start or end or days:
        match["time"] = {
            "start": start,
            "end": end,
            "weekdays": days,
            "tz": field(form, "tz", 64) or "UTC",
        }
    actions: list[dict[str, Any]] = []
    if reply := field(form, "reply", 1000):
        actions.append({"type": "reply", "text": reply})
    if numbers := field(form, "forward_to", 2000).replace(",", " ").split():
        actions.append({"type": "forward_sms", "to": numbers[:100]})
    if email := field(form, "forward_email", 320):
        actions.append({"type": "forward_email", "to": email})
    if url := field(form, "webhook", 2000):
        actions.append({"type": "webhook", "url": url})
    for kind in ("add_to_group", "remove_from_group"):
        group = int_or_none(field(form, kind, 20))
        if group is not None:
            actions.append({"type": kind, "group_id": group})
    if tag := field(form, "tag", 64):
        actions.append({"type": "tag", "tag": tag})
    return {
        "name": field(form, "name", 100),
        "match": {k: v for k, v in match.items() if v},
        "actions": actions,
        "stop": form.get("stop") == "on",
        "enabled": True,
    }


async def _test(request: web.Request) -> dict[str, Any] | None:
    text = request.query.get("text")
    if text is None:
        return None
    return await request.app[RULES].test(
        sender=request.query.get("from", "").strip()[:32] or "+5511987654321",
        text=text[:2000],
        modem=request.query.get("modem", "")[:32],
    )


@requires(Role.VIEWER)
async def rules_page(request: web.Request) -> web.StreamResponse:
    context = {
        "rules": await request.app[RULES].list(),
        "tested": await _test(request),
        "test_text": request.query.get("text", "")[:2000],
        "test_from": request.query.get("from", "")[:32],
        "weekdays": WEEKDAYS,
    }
    return await render(request, "rules.html", context, page="rules")


@requires(Role.VIEWER)
async def test_json(request: web.Request) -> web.Response:
    return web.json_response(await _test(request) or {"matched": [], "replyable": False})


@requires(Role.OPERATOR)
async def create_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    try:
        saved = await request.app[RULES].create(_caller(request), rule_fields(form))
    except ServiceError as exc:
        await notify(request, _("The rule was not saved: %(reason)s") % {"reason": exc}, "error")
        raise web.HTTPSeeOther("/rules") from None
    await notify(request, _("Rule %(name)s saved.") % {"name": saved["name"]})
    raise web.HTTPSeeOther("/rules")


@requires(Role.OPERATOR)
async def toggle_submit(request: web.Request) -> web.StreamResponse:
    rule_id = path_id(request)
    store = request.app[RULES]
    try:
        rule = await store.get(rule_id)
        fields = {k: rule[k] for k in ("name", "match", "actions", "stop", "position")}
        await store.replace(_caller(request), rule_id, {**fields, "enabled": not rule["enabled"]})
    except ServiceError as exc:
        await notify(request, _("The rule was not saved: %(reason)s") % {"reason": exc}, "error")
    raise web.HTTPSeeOther("/rules")


@requires(Role.OPERATOR)
async def delete_submit(request: web.Request) -> web.StreamResponse:
    rule_id = path_id(request)
    try:
        await request.app[RULES].delete(_caller(request), rule_id)
    except ServiceError as exc:
        await notify(request, _("The rule was not deleted: %(reason)s") % {"reason": exc}, "error")
        raise web.HTTPSeeOther("/rules") from None
    await notify(request, _("Rule deleted."))
    raise web.HTTPSeeOther("/rules")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/rules", rules_page, name="rules")
    router.add_post("/rules", create_submit)
    router.add_get("/rules/test.json", test_json, name="rules.test")
    router.add_post("/rules/{id}/toggle", toggle_submit)
    router.add_post("/rules/{id}/delete", delete_submit)
