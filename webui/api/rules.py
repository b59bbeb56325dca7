"""Rules on incoming SMS: ``/api/v1/rules``, ``/api/v1/rules/{id}`` and the dry run
``/api/v1/rules/test``. Anyone signed in reads them; operators change and test them. The
checks and audit entries are :class:`~webui.services.rule_store.RuleStore`'s."""

from __future__ import annotations

from aiohttp import web

from gatewayd.store import Role
from webui.api.inputs import path_id, read_model
from webui.api.models import RuleTest, RuleWrite
from webui.api.sending import caller_of
from webui.auth.identity import requires
from webui.keys import RULES


def _fields(body: RuleWrite) -> dict[str, object]:
    fields = body.model_dump(by_alias=True, exclude_unset=True)
    fields["match"] = (
        body.match.model_dump(by_alias=True, exclude_unset=True, exclude_none=True)
        if body.match is not None
        else {}
    )
    return fields


@requires(Role.VIEWER)
async def list_rules(request: web.Request) -> web.Response:
    return web.json_response({"rules": await request.app[RULES].list()})


@requires(Role.OPERATOR)
async def create_rule(request: web.Request) -> web.Response:
    body = await read_model(request, RuleWrite)
    saved = await request.app[RULES].create(caller_of(request), _fields(body))
    return web.json_response(saved, status=201)


@requires(Role.VIEWER)
async def get_rule(request: web.Request) -> web.Response:
    return web.json_response(await request.app[RULES].get(path_id(request)))


@requires(Role.OPERATOR)
async def replace_rule(request: web.Request) -> web.Response:
    rule_id = path_id(request)
    body = await read_model(request, RuleWrite)
    return web.json_response(
        await request.app[RULES].replace(caller_of(request), rule_id, _fields(body))
    )


@requires(Role.OPERATOR)
async def delete_rule(request: web.Request) -> web.Response:
    rule_id = path_id(request)
    await request.app[RULES].delete(caller_of(request), rule_id)
    return web.json_response({"id": rule_id, "deleted": True})


@requires(Role.OPERATOR)
async def test_rules(request: web.Request) -> web.Response:
    body = await read_model(request, RuleTest)
    result = await request.app[RULES].test(
        sender=body.from_, text=body.text, modem=body.modem, at=body.at
    )
    return web.json_response(result)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/v1/rules", list_rules, name="api.rules")
    router.add_post("/api/v1/rules", create_rule, name="api.rule_create")
    router.add_post("/api/v1/rules/test", test_rules, name="api.rules_test")
    router.add_get("/api/v1/rules/{id:[0-9]+}", get_rule, name="api.rule")
    router.add_put("/api/v1/rules/{id:[0-9]+}", replace_rule, name="api.rule_replace")
    router.add_delete("/api/v1/rules/{id:[0-9]+}", delete_rule, name="api.rule_delete")
