"""``GET /api/openapi.json``: the OpenAPI 3.1 document, built from the same pydantic models
that validate requests (their JSON Schema is draft 2020-12, which OpenAPI 3.1 uses as is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gatewayd import __version__
from gatewayd.store import MessageStatus
from webui.api import models as m
from webui.auth.identity import public

REF = "#/components/schemas/{model}"
ERROR_STATUSES = {
    "400": "Malformed request (invalid JSON)",
    "401": "No login or API key, or the key is unknown or revoked",
    "403": "The role is not enough, the CSRF token is missing, or the key's account may not be "
    "used from this address (network_not_allowed)",
    "404": "No such resource",
    "409": "Conflict with the resource's state",
    "413": "Body too large",
    "415": "Unsupported media type",
    "422": "Invalid input; error.field names it",
    "429": "Over the account's throughput limit (rate_limited) or quota (quota_exceeded); "
    "Retry-After says when to try again",
    "502": "The modem answered with an error",
    "503": "The database is unavailable",
    "504": "gatewayd did not answer in time",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    response: type[BaseModel]
    status: str = "200"
    body: type[BaseModel] | None = None
    parameters: tuple[dict[str, Any], ...] = ()
    role: str = "viewer"
    extra_responses: dict[str, type[BaseModel]] = field(default_factory=dict)
    public: bool = False


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


LIMIT = query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "page size")
CURSOR = query("cursor", {"type": "string"}, "next_cursor of the previous page")
ID = path_param("id", {"type": "integer", "minimum": 1})
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "retrying with the same key returns the first request's "
    "messages (200) instead of queueing again",
}

OPERATIONS = (
    Operation(
        "post",
        "/api/v1/messages",
        "Send one message or one text to many",
        m.Message,
        "202",
        m.SendRequest,
        (IDEMPOTENCY,),
        "operator",
        {"200": m.Message},
    ),
    Operation(
        "get",
        "/api/v1/messages",
        "List messages, newest first",
        m.MessagePage,
        parameters=(
            query("status", {"type": "string", "enum": [s.value for s in MessageStatus]}, "filter"),
            query("to", {"type": "string"}, "recipient filter"),
            LIMIT,
            CURSOR,
        ),
    ),
    Operation(
        "get", "/api/v1/messages/{id}", "One message with its timeline", m.Message, parameters=(ID,)
    ),
    Operation(
        "post",
        "/api/v1/messages/{id}/cancel",
        "Cancel a queued message",
        m.Message,
        parameters=(ID,),
        role="operator",
    ),
    Operation(
        "get",
        "/api/v1/inbox",
        "Received messages, newest first",
        m.InboxPage,
        parameters=(
            query("since", {"type": "string", "format": "date-time"}, "received at or after"),
            LIMIT,
            CURSOR,
        ),
    ),
    Operation("get", "/api/v1/modems", "Modems and their state", m.ModemList),
    Operation(
        "post",
        "/api/v1/modems/{name}/ussd",
        "Run a USSD code on a modem",
        m.UssdAnswer,
        body=m.UssdRequest,
        role="operator",
        parameters=(path_param("name", {"type": "string", "maxLength": 32}),),
    ),
    Operation(
        "get",
        "/api/health",
        "Health of database, Redis and gateway",
        m.Health,
        public=True,
        extra_responses={"503": m.Health},
    ),
    Operation("get", "/api/metrics", "Operational figures", m.Metrics),
    Operation("get", "/api/v1/me", "Who is asking", m.Me),
    Operation("get", "/api/v1/api-keys", "API keys", m.ApiKeyList, role="admin"),
    Operation(
        "post",
        "/api/v1/api-keys",
        "Create an API key (shown once)",
        m.ApiKeyCreated,
        "201",
        m.ApiKeyCreate,
        role="admin",
    ),
    Operation(
        "patch",
        "/api/v1/api-keys/{id}",
        "Set a key's webhook",
        m.ApiKey,
        body=m.ApiKeyUpdate,
        parameters=(ID,),
        role="admin",
    ),
    Operation(
        "post",
        "/api/v1/api-keys/{id}/revoke",
        "Revoke a key",
        m.ApiKey,
        parameters=(ID,),
        role="admin",
    ),
    Operation("get", "/api/v1/accounts", "Client accounts", m.AccountList, role="admin"),
    Operation(
        "post",
        "/api/v1/accounts",
        "Create a client account",
        m.AccountCreated,
        "201",
        m.AccountCreate,
        role="admin",
    ),
    Operation(
        "get",
        "/api/v1/accounts/{id}",
        "One client account with its usage",
        m.Account,
        parameters=(ID,),
        role="admin",
    ),
    Operation(
        "patch",
        "/api/v1/accounts/{id}",
        "Change a client account (limits, networks, modems, SMPP password, webhook)",
        m.Account,
        body=m.AccountUpdate,
        parameters=(ID,),
        role="admin",
    ),
    Operation(
        "delete",
        "/api/v1/accounts/{id}",
        "Revoke a client account",
        m.Account,
        parameters=(ID,),
        role="admin",
    ),
    Operation("get", "/api/v1/users", "Users", m.UserList, role="admin"),
    Operation(
        "post", "/api/v1/users", "Create a user", m.UserCreated, "201", m.UserCreate, role="admin"
    ),
    Operation(
        "patch",
        "/api/v1/users/{id}",
        "Change a user",
        m.User,
        body=m.UserUpdate,
        parameters=(ID,),
        role="admin",
    ),
    Operation(
        "get",
        "/api/v1/audit",
        "Audit log, newest first",
        m.AuditPage,
        parameters=(LIMIT, CURSOR),
        role="admin",
    ),
    Operation(
        "get",
        "/api/v1/webhooks/deliveries",
        "Webhook deliveries, newest first",
        m.WebhookDeliveryPage,
        parameters=(
            query(
                "status", {"type": "string", "enum": ["pending", "delivered", "failed"]}, "filter"
            ),
            LIMIT,
            CURSOR,
        ),
        role="admin",
    ),
    Operation(
        "post",
        "/api/v1/webhooks/deliveries/{id}/replay",
        "Send a delivery again",
        m.WebhookDelivery,
        "202",
        parameters=(ID,),
        role="admin",
    ),
    Operation(
        "get",
        "/api/v1/optouts",
        "The opt-out, block and allow lists, newest first",
        m.OptOutList,
        parameters=(
            query("q", {"type": "string", "maxLength": 64}, "number or note contains"),
            query("kind", {"type": "string", "enum": ["opt_out", "block", "allow"]}, "filter"),
            LIMIT,
            query("offset", {"type": "integer", "minimum": 0}, "entries to skip"),
        ),
    ),
    Operation(
        "post",
        "/api/v1/optouts",
        "Put a number or prefix on a list (sending to it is then refused: opted_out)",
        m.OptOut,
        "201",
        m.OptOutCreate,
        role="operator",
        extra_responses={"200": m.OptOut},
    ),
    Operation(
        "delete",
        "/api/v1/optouts/{number}",
        "Take a number or prefix off a list",
        m.OptOutRemoved,
        parameters=(
            path_param("number", {"type": "string", "maxLength": 32}),
            query(
                "kind", {"type": "string", "enum": ["opt_out", "block", "allow"]}, "default opt_out"
            ),
        ),
        role="operator",
    ),
    Operation("get", "/api/v1/rules", "Rules on incoming SMS, in evaluation order", m.RuleList),
    Operation(
        "post",
        "/api/v1/rules",
        "Create a rule (a regex that backtracks too much is refused: slow_regex)",
        m.Rule,
        "201",
        m.RuleWrite,
        role="operator",
    ),
    Operation(
        "post",
        "/api/v1/rules/test",
        "What the enabled rules would do with a message (nothing is sent)",
        m.RuleTestResult,
        body=m.RuleTest,
        role="operator",
    ),
    Operation("get", "/api/v1/rules/{id}", "One rule", m.Rule, parameters=(ID,)),
    Operation(
        "put",
        "/api/v1/rules/{id}",
        "Replace a rule",
        m.Rule,
        body=m.RuleWrite,
        parameters=(ID,),
        role="operator",
    ),
    Operation(
        "delete",
        "/api/v1/rules/{id}",
        "Delete a rule",
        m.RuleDeleted,
        parameters=(ID,),
        role="operator",
    ),
    Operation(
        "get", "/api/v1/recurring", "Recurring sends with next runs and history", m.RecurringList
    ),
    Operation(
        "post",
        "/api/v1/recurring",
        "Create a recurring send",
        m.Recurring,
        "201",
        m.RecurringWrite,
        role="operator",
    ),
    Operation("get", "/api/v1/recurring/{id}", "One recurring send", m.Recurring, parameters=(ID,)),
    Operation(
        "put",
        "/api/v1/recurring/{id}",
        "Replace a recurring send (paused: true pauses it)",
        m.Recurring,
        body=m.RecurringWrite,
        parameters=(ID,),
        role="operator",
    ),
    Operation(
        "delete",
        "/api/v1/recurring/{id}",
        "Delete a recurring send",
        m.RecurringDeleted,
        parameters=(ID,),
        role="operator",
    ),
)

ALL_MODELS: tuple[type[BaseModel], ...] = (
    m.SendRequest,
    m.UssdRequest,
    m.ApiKeyCreate,
    m.ApiKeyUpdate,
    m.UserCreate,
    m.UserUpdate,
    m.PasswordChange,
    m.AccountCreate,
    m.AccountUpdate,
    m.OptOutCreate,
    m.RuleWrite,
    m.RuleTest,
    m.RecurringWrite,
    m.ErrorBody,
    m.Message,
    m.MessageBatch,
    m.MessagePage,
    m.InboxPage,
    m.ModemList,
    m.UssdAnswer,
    m.Health,
    m.ApiKey,
    m.ApiKeyCreated,
    m.ApiKeyList,
    m.User,
    m.UserCreated,
    m.UserList,
    m.Account,
    m.AccountCreated,
    m.AccountList,
    m.OptOut,
    m.OptOutList,
    m.OptOutRemoved,
    m.Rule,
    m.RuleList,
    m.RuleTestResult,
    m.RuleDeleted,
    m.Recurring,
    m.RecurringRun,
    m.RecurringList,
    m.RecurringDeleted,
    m.AuditPage,
    m.WebhookDelivery,
    m.WebhookDeliveryPage,
    m.Me,
    m.Metrics,
)
REQUEST_MODELS = {
    m.SendRequest,
    m.UssdRequest,
    m.ApiKeyCreate,
    m.ApiKeyUpdate,
    m.UserCreate,
    m.UserUpdate,
    m.PasswordChange,
    m.AccountCreate,
    m.AccountUpdate,
    m.OptOutCreate,
    m.RuleWrite,
    m.RuleTest,
    m.RecurringWrite,
}


def json_content(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}


def operation_object(op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {
        op.status: {"description": "OK", "content": json_content(op.response)},
    }
    for status, model in op.extra_responses.items():
        responses[status] = {"description": "see schema", "content": json_content(model)}
    if op.method == "post" and op.path == "/api/v1/messages":
        responses["202"]["content"] = {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": REF.format(model="Message")},
                        {"$ref": REF.format(model="MessageBatch")},
                    ]
                }
            }
        }
        responses["200"] = responses["202"] | {"description": "an earlier request's result"}
    for status, description in ERROR_STATUSES.items():
        responses.setdefault(
            status, {"description": description, "content": json_content(m.ErrorBody)}
        )
    result: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{op.method}_{op.path.strip('/').replace('/', '_')}".replace("{", "")
        .replace("}", "")
        .replace("-", "_"),
        "responses": responses,
        "description": "Public." if op.public else f"Needs the {op.role} role or higher.",
    }
    if op.parameters:
        result["parameters"] = list(op.parameters)
    if op.body is not None:
        result["requestBody"] = {"required": True, "content": json_content(op.body)}
    if op.public:
        result["security"] = []
    return result


@cache
def build_document() -> dict[str, Any]:
    pairs = [
        (model, "validation" if model in REQUEST_MODELS else "serialization")
        for model in ALL_MODELS
    ]
    _, schemas = models_json_schema(pairs, ref_template=REF)  # type: ignore[arg-type]
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = operation_object(op)
    paths["/api/v1/messages/batch"] = {
        "post": {
            "summary": "Send to the numbers of a CSV upload (rows: number[,text])",
            "operationId": "post_api_v1_messages_batch",
            "description": "Needs the operator role or higher.",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "text": {
                                    "type": "string",
                                    "description": "text for rows without one",
                                },
                                "priority": {"type": "string"},
                                "skip_invalid": {"type": "string", "enum": ["true", "false"]},
                            },
                        }
                    }
                },
            },
            "responses": {
                "202": {"description": "queued", "content": json_content(m.MessageBatch)},
                "200": {
                    "description": "an earlier request's result",
                    "content": json_content(m.MessageBatch),
                },
                **{
                    status: {"description": text, "content": json_content(m.ErrorBody)}
                    for status, text in ERROR_STATUSES.items()
                },
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SMS Gateway API",
            "version": __version__,
            "description": "Send SMS, follow their delivery, read the inbox, check modems. "
            'Errors are {"error": {"code", "message", "field"?}}.',
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API key: Authorization: Bearer smsgw_...",
                },
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "smsgw_session"},
            },
        },
    }


@public
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(build_document())


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/api/openapi.json", openapi_json, name="api.openapi")
