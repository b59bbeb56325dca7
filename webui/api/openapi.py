"""``GET /api/openapi.json``: the OpenAPI 3.1 document, built from the same pydantic models
that validate requests (their JSON Schema is draft 2020-12, which OpenAPI 3.1 uses as is).

Every endpoint is here, the JSON API and the CSV exports, ``/cgi-bin/sendsms`` (Kannel's
interface) included, each with a stable ``operationId``, a tag, and the error statuses it can
actually answer (:func:`error_statuses` derives them from what the operation takes: a path
parameter can be a 404, a body a 413/415/422, any query a 400 for a NUL character...).
Parameters carry the constraints the server enforces, so a request the document allows is
one the server reads. The answer of ``sendMessage`` is one message or a batch, told apart by
``kind`` (a discriminator); a new one's address is in ``Location``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gatewayd import __version__
from gatewayd.store import MessageStatus
from webui.api import models as m
from webui.api.inputs import CURSOR_PATTERN, MAX_ROW_ID
from webui.api.messages import PRIORITY_PATTERN
from webui.api.sending import IDEMPOTENCY_KEY_PATTERN
from webui.auth.identity import public
from webui.services.optouts import KINDS, MAX_OFFSET, MAX_SEARCH

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    "400": "Malformed request: invalid JSON, a broken form, a NUL character",
    "401": "No login or API key, or the key is unknown or revoked",
    "403": "The role is not enough, the CSRF token is missing, the user must first "
    "change their password or set up two-factor sign-in, or the key's account may not be used "
    "from this address (network_not_allowed)",
    "404": "No such resource",
    "409": "Conflict with the resource's state",
    "413": "Body too large",
    "415": "Unsupported media type",
    "422": "Invalid input; error.field names it, error.code says why",
    "429": "Too many attempts, or over the account's throughput limit (rate_limited) or quota "
    "(quota_exceeded); Retry-After says when to try again",
    "502": "The modem answered with an error",
    "503": "The database is unavailable (or the server is too busy); try again shortly",
    "504": "gatewayd did not answer in time",
}
TAGS = [
    {"name": "messages", "description": "Send messages, follow them, export them"},
    {"name": "inbox", "description": "Received messages"},
    {"name": "modems", "description": "Modems and their commands"},
    {"name": "monitoring", "description": "Health and figures"},
    {"name": "account", "description": "Who is asking; one's own password"},
    {"name": "admin", "description": "API keys, users, accounts, audit log, webhook deliveries"},
    {"name": "lists", "description": "Opt-out, block and allow lists"},
    {"name": "rules", "description": "Rules on incoming SMS"},
    {"name": "recurring", "description": "Recurring sends"},
    {"name": "alerts", "description": "Alerts and their settings"},
    {"name": "kannel", "description": "Kannel's smsbox interface, for programs written for it"},
]


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


NO_NUL = "^[^\u0000]*$"
"""No NUL character: no text the server stores or compares can hold one (a 400 otherwise)."""


def text(low: int, high: int) -> dict[str, Any]:
    return {"type": "string", "minLength": low, "maxLength": high, "pattern": NO_NUL}


TEXT = text(1, 100)
TIME = {"type": "string", "format": "date-time"}
LIMIT = query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "page size")
CURSOR = query(
    "cursor",
    {"type": "string", "pattern": CURSOR_PATTERN},
    "next_cursor of the previous page",
)
ID = path_param("id", {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID})
MODEM_NAME = path_param("name", text(1, 32))
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
    "description": "printable ASCII, 1 to 255 characters; retrying with the same key "
    "returns the first request's messages (200) instead of queueing again",
}
MESSAGE_FILTERS = (
    query("status", {"type": "string", "enum": [s.value for s in MessageStatus]}, "status"),
    query("to", text(1, 64), "recipient (any format)"),
    query("modem", text(1, 32), "modem that took it"),
    query("since", TIME, "queued at or after"),
    query("until", TIME, "queued before"),
    query("q", TEXT, "part of the number, the text or a contact's name"),
    query("batch", {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}, "batch id"),
)
INBOX_FILTERS = (
    query("since", TIME, "received at or after"),
    query("until", TIME, "received before"),
    query("from", text(1, 32), "sender"),
    query("modem", text(1, 32), "modem"),
    query("q", TEXT, "part of the sender, the text or a contact's name"),
    query("unread", {"type": "string", "enum": ["true", "false"]}, "true: unread only"),
)
CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}
TEXT_CONTENT = {"text/plain": {"schema": {"type": "string"}}}
KANNEL_PARAMS: dict[str, dict[str, Any]] = {
    "username": text(0, 100) | {"description": "the API key's name"},
    "password": text(0, 200) | {"description": "the API key"},
    "to": text(0, 200_000) | {"description": "numbers, space separated"},
    "text": text(0, 40_000),
    "dlr-url": text(0, 2000),
    "dlr-mask": {"type": "string", "pattern": "^[0-9]{1,3}$"},
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    tag: str
    summary: str
    response: type[BaseModel] | None
    status: str = "200"
    body: type[BaseModel] | None = None
    parameters: tuple[dict[str, Any], ...] = ()
    role: str = "viewer"
    public: bool = False
    errors: tuple[str, ...] = ()
    """Statuses beyond those :func:`error_statuses` derives."""
    content: dict[str, Any] | None = None
    """The success answer's content when it is not the JSON of ``response``."""
    form: dict[str, Any] | None = None
    """A form body: its media type and schema."""
    open_to_allowed: bool = False
    """Open without credentials to the ``metrics_allow`` networks (credentials optional)."""
    also: dict[str, type[BaseModel]] | None = None
    """Other success statuses and their answers (an existing entry answered 200)."""


def error_statuses(op: Operation) -> list[str]:
    """The error statuses ``op`` can answer, from what it takes."""
    found = set(op.errors) | {"503"}
    if not op.public:
        found |= {"401", "403"}
    if op.parameters or op.body or op.form:
        found.add("400")  # a NUL character anywhere, a body that does not parse
    if any(p["in"] == "path" for p in op.parameters):
        found.add("404")
    if any(p["in"] in ("query", "header") for p in op.parameters):
        found.add("422")
    if op.body is not None or op.form is not None:
        found |= {"413", "415", "422"}
    return sorted(found)


OPERATIONS = (
    Operation(
        "post",
        "/api/v1/messages",
        "sendMessage",
        "messages",
        "Send one message, or one text to many",
        None,
        "202",
        m.SendRequest,
        (IDEMPOTENCY,),
        "operator",
        errors=("429",),
    ),
    Operation(
        "get",
        "/api/v1/messages",
        "listMessages",
        "messages",
        "List messages, newest first",
        m.MessagePage,
        parameters=(*MESSAGE_FILTERS, LIMIT, CURSOR),
    ),
    Operation(
        "get",
        "/api/v1/messages.csv",
        "exportMessagesCsv",
        "messages",
        "Every message the filters select, as CSV (streamed)",
        None,
        parameters=(*MESSAGE_FILTERS, CURSOR),
        content=CSV_CONTENT,
    ),
    Operation(
        "post",
        "/api/v1/messages/batch",
        "sendCsvBatch",
        "messages",
        "Send to the numbers of a CSV upload (rows: number[,text])",
        m.MessageBatch,
        "202",
        parameters=(IDEMPOTENCY,),
        role="operator",
        errors=("429",),
        form={
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "text": text(0, 40_000) | {"description": "text for rows without one"},
                        "priority": {"type": "string", "pattern": PRIORITY_PATTERN},
                        "skip_invalid": {"type": "string", "enum": ["true", "false"]},
                    },
                }
            }
        },
    ),
    Operation(
        "get",
        "/api/v1/messages/{id}",
        "getMessage",
        "messages",
        "One message with its timeline",
        m.Message,
        parameters=(ID,),
    ),
    Operation(
        "post",
        "/api/v1/messages/{id}/cancel",
        "cancelMessage",
        "messages",
        "Cancel a queued message",
        m.Message,
        parameters=(ID,),
        role="operator",
        errors=("409",),
    ),
    Operation(
        "get",
        "/api/v1/inbox",
        "listInbox",
        "inbox",
        "Received messages, newest first",
        m.InboxPage,
        parameters=(*INBOX_FILTERS, LIMIT, CURSOR),
    ),
    Operation(
        "get",
        "/api/v1/inbox.csv",
        "exportInboxCsv",
        "inbox",
        "Every received message the filters select, as CSV (streamed)",
        None,
        parameters=(*INBOX_FILTERS, CURSOR),
        content=CSV_CONTENT,
    ),
    Operation(
        "get", "/api/v1/modems", "listModems", "modems", "Modems and their state", m.ModemList
    ),
    Operation(
        "post",
        "/api/v1/modems/{name}/ussd",
        "runUssd",
        "modems",
        "Run a USSD code on a modem",
        m.UssdAnswer,
        body=m.UssdRequest,
        role="operator",
        parameters=(MODEM_NAME,),
        errors=("502", "504"),
    ),
    Operation(
        "post",
        "/api/v1/modems/{name}/restart",
        "restartModem",
        "modems",
        "Restart a modem (gatewayd re-opens and re-initialises it)",
        m.RestartAnswer,
        role="admin",
        parameters=(MODEM_NAME,),
        errors=("502", "504"),
    ),
    Operation(
        "get",
        "/api/health",
        "getHealth",
        "monitoring",
        "Health of database, Redis, gateway, modems and queue",
        m.Health,
        public=True,
    ),
    Operation(
        "get",
        "/api/metrics",
        "getMetrics",
        "monitoring",
        "Operational figures (no login needed from the metrics_allow networks)",
        m.Metrics,
        open_to_allowed=True,
    ),
    Operation("get", "/api/v1/me", "getMe", "account", "Who is asking", m.Me),
    Operation(
        "post",
        "/api/v1/me/password",
        "changeOwnPassword",
        "account",
        "Change one's own password (users only; every session ends)",
        m.PasswordChanged,
        body=m.PasswordChange,
        errors=("429",),
    ),
    Operation(
        "get", "/api/v1/api-keys", "listApiKeys", "admin", "API keys", m.ApiKeyList, role="admin"
    ),
    Operation(
        "post",
        "/api/v1/api-keys",
        "createApiKey",
        "admin",
        "Create an API key (shown once)",
        m.ApiKeyCreated,
        "201",
        m.ApiKeyCreate,
        role="admin",
    ),
    Operation(
        "patch",
        "/api/v1/api-keys/{id}",
        "updateApiKey",
        "admin",
        "Set a key's webhook",
        m.ApiKey,
        body=m.ApiKeyUpdate,
        parameters=(ID,),
        role="admin",
    ),
    Operation(
        "post",
        "/api/v1/api-keys/{id}/revoke",
        "revokeApiKey",
        "admin",
        "Revoke a key",
        m.ApiKey,
        parameters=(ID,),
        role="admin",
    ),
    Operation("get", "/api/v1/users", "listUsers", "admin", "Users", m.UserList, role="admin"),
    Operation(
        "post",
        "/api/v1/users",
        "createUser",
        "admin",
        "Create a user",
        m.UserCreated,
        "201",
        m.UserCreate,
        role="admin",
        errors=("409",),
    ),
    Operation(
        "patch",
        "/api/v1/users/{id}",
        "updateUser",
        "admin",
        "Change a user",
        m.User,
        body=m.UserUpdate,
        parameters=(ID,),
        role="admin",
        errors=("409",),
    ),
    Operation(
        "get",
        "/api/v1/audit",
        "listAudit",
        "admin",
        "Audit log, newest first",
        m.AuditPage,
        parameters=(
            query("actor", text(0, 100), "who, e.g. user:ana"),
            query("action", text(0, 64), "action or its prefix"),
            query("q", text(0, 100), "part of target, who or address"),
            query("since", TIME, "at or after"),
            query("until", TIME, "before"),
            LIMIT,
            CURSOR,
        ),
        role="admin",
    ),
    Operation(
        "get",
        "/api/v1/webhooks/deliveries",
        "listWebhookDeliveries",
        "admin",
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
        "replayWebhookDelivery",
        "admin",
        "Send a delivery again",
        m.WebhookDelivery,
        "202",
        parameters=(ID,),
        role="admin",
    ),
    Operation(
        "get",
        "/api/v1/accounts",
        "listAccounts",
        "admin",
        "Client accounts",
        m.AccountList,
        role="admin",
    ),
    Operation(
        "post",
        "/api/v1/accounts",
        "createAccount",
        "admin",
        "Create a client account",
        m.AccountCreated,
        "201",
        m.AccountCreate,
        role="admin",
        errors=("409",),
    ),
    Operation(
        "get",
        "/api/v1/accounts/{id}",
        "getAccount",
        "admin",
        "One client account with its usage",
        m.Account,
        parameters=(ID,),
        role="admin",
    ),
    Operation(
        "patch",
        "/api/v1/accounts/{id}",
        "updateAccount",
        "admin",
        "Change a client account (limits, networks, modems, SMPP password, webhook)",
        m.Account,
        body=m.AccountUpdate,
        parameters=(ID,),
        role="admin",
        errors=("409",),
    ),
    Operation(
        "post",
        "/api/v1/accounts/{id}/revoke",
        "revokeAccount",
        "admin",
        "Revoke a client account (not the account default: 409)",
        m.Account,
        parameters=(ID,),
        role="admin",
        errors=("409",),
    ),
    Operation(
        "get",
        "/api/v1/optouts",
        "listOptOuts",
        "lists",
        "The opt-out, block and allow lists, newest first",
        m.OptOutList,
        parameters=(
            query("q", text(0, MAX_SEARCH), "number or note contains"),
            query("kind", {"type": "string", "enum": list(KINDS)}, "filter"),
            LIMIT,
            query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}, "skip"),
        ),
    ),
    Operation(
        "post",
        "/api/v1/optouts",
        "addOptOut",
        "lists",
        "Put a number or prefix on a list (sending to it is then refused: opted_out)",
        m.OptOut,
        "201",
        m.OptOutCreate,
        role="operator",
        also={"200": m.OptOut},
    ),
    Operation(
        "delete",
        "/api/v1/optouts/{number}",
        "removeOptOut",
        "lists",
        "Take a number or prefix off a list",
        m.OptOutRemoved,
        parameters=(
            path_param("number", text(1, 32)),
            query("kind", {"type": "string", "enum": list(KINDS)}, "default opt_out"),
        ),
        role="operator",
    ),
    Operation(
        "get", "/api/v1/rules", "listRules", "rules", "Rules on incoming SMS, in order", m.RuleList
    ),
    Operation(
        "post",
        "/api/v1/rules",
        "createRule",
        "rules",
        "Create a rule (a regex that backtracks too much is refused: slow_regex)",
        m.Rule,
        "201",
        m.RuleWrite,
        role="operator",
    ),
    Operation(
        "post",
        "/api/v1/rules/test",
        "testRules",
        "rules",
        "What the enabled rules would do with a message (nothing is sent)",
        m.RuleTestResult,
        body=m.RuleTest,
        role="operator",
    ),
    Operation(
        "get", "/api/v1/rules/{id}", "getRule", "rules", "One rule", m.Rule, parameters=(ID,)
    ),
    Operation(
        "put",
        "/api/v1/rules/{id}",
        "replaceRule",
        "rules",
        "Replace a rule",
        m.Rule,
        body=m.RuleWrite,
        parameters=(ID,),
        role="operator",
    ),
    Operation(
        "delete",
        "/api/v1/rules/{id}",
        "deleteRule",
        "rules",
        "Delete a rule",
        m.RuleDeleted,
        parameters=(ID,),
        role="operator",
    ),
    Operation(
        "get",
        "/api/v1/recurring",
        "listRecurring",
        "recurring",
        "Recurring sends with next runs and history",
        m.RecurringList,
    ),
    Operation(
        "post",
        "/api/v1/recurring",
        "createRecurring",
        "recurring",
        "Create a recurring send",
        m.Recurring,
        "201",
        m.RecurringWrite,
        role="operator",
    ),
    Operation(
        "get",
        "/api/v1/recurring/{id}",
        "getRecurring",
        "recurring",
        "One recurring send",
        m.Recurring,
        parameters=(ID,),
    ),
    Operation(
        "put",
        "/api/v1/recurring/{id}",
        "replaceRecurring",
        "recurring",
        "Replace a recurring send (paused: true pauses it)",
        m.Recurring,
        body=m.RecurringWrite,
        parameters=(ID,),
        role="operator",
    ),
    Operation(
        "delete",
        "/api/v1/recurring/{id}",
        "deleteRecurring",
        "recurring",
        "Delete a recurring send",
        m.RecurringDeleted,
        parameters=(ID,),
        role="operator",
    ),
    Operation(
        "get",
        "/api/v1/alerts",
        "listAlerts",
        "alerts",
        "Active alerts and the last steps (raised, repeated, cleared)",
        m.AlertList,
    ),
    Operation(
        "get",
        "/api/v1/alerts/settings",
        "getAlertSettings",
        "alerts",
        "Alert settings: recipients, webhook, thresholds, quiet periods, channels",
        m.AlertSettings,
        role="admin",
    ),
    Operation(
        "put",
        "/api/v1/alerts/settings",
        "replaceAlertSettings",
        "alerts",
        "Replace the alert settings (audited); absurd values are a 422 naming the field",
        m.AlertSettings,
        body=m.AlertSettingsWrite,
        role="admin",
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
    m.AlertSettingsWrite,
    m.ErrorBody,
    m.Message,
    m.MessageBatch,
    m.MessagePage,
    m.InboxPage,
    m.ModemList,
    m.UssdAnswer,
    m.RestartAnswer,
    m.PasswordChanged,
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
    m.AlertSettings,
    m.AlertList,
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
    m.AlertSettingsWrite,
}


def json_content(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}


ONE_OR_BATCH = {
    "application/json": {
        "schema": {
            "oneOf": [
                {"$ref": REF.format(model="Message")},
                {"$ref": REF.format(model="MessageBatch")},
            ],
            "discriminator": {
                "propertyName": "kind",
                "mapping": {
                    "message": REF.format(model="Message"),
                    "batch": REF.format(model="MessageBatch"),
                },
            },
        }
    }
}
LOCATION = {
    "Location": {
        "description": "the new message (/api/v1/messages/{id}) or the batch's list "
        "(/api/v1/messages?batch={id})",
        "schema": {"type": "string"},
    }
}


def _success(op: Operation) -> dict[str, Any]:
    if op.content is not None:
        content = op.content
    elif op.operation_id == "sendMessage":
        content = ONE_OR_BATCH
    else:
        assert op.response is not None
        content = json_content(op.response)
    answer: dict[str, Any] = {"description": "OK", "content": content}
    if op.status == "202" and op.path.startswith("/api/v1/messages"):
        answer["headers"] = LOCATION
    responses = {op.status: answer}
    for status, model in (op.also or {}).items():
        responses[status] = {"description": "OK", "content": json_content(model)}
    if op.status == "202" and op.path.startswith("/api/v1/messages"):
        responses["200"] = {"description": "an earlier request's result", "content": content}
    return responses


def operation_object(op: Operation) -> dict[str, Any]:
    responses = _success(op)
    for status in error_statuses(op):
        if op.operation_id == "getHealth" and status == "503":
            responses[status] = {"description": "fail", "content": json_content(m.Health)}
            continue
        error = json_content(m.ErrorBody)
        responses[status] = {"description": ERROR_TEXT[status], "content": error}
    result: dict[str, Any] = {
        "operationId": op.operation_id,
        "tags": [op.tag],
        "summary": op.summary,
        "responses": responses,
        "description": "Public." if op.public else f"Needs the {op.role} role or higher.",
    }
    if op.parameters:
        result["parameters"] = list(op.parameters)
    if op.body is not None:
        # A PATCH changes only the fields it sends: an empty body changes nothing.
        required = op.method != "patch"
        result["requestBody"] = {"required": required, "content": json_content(op.body)}
    if op.form is not None:
        result["requestBody"] = {"required": True, "content": op.form}
    if op.public:
        result["security"] = []
    if op.open_to_allowed:
        result["security"] = [{}, {"bearerAuth": []}, {"sessionCookie": []}]
    return result


def kannel_operations() -> dict[str, Any]:
    """``/cgi-bin/sendsms``: Kannel's interface; its own credentials, plain-text answers."""
    params = [
        query(name, schema, str(schema.get("description", name)))
        for name, schema in KANNEL_PARAMS.items()
    ]
    responses = {
        "202": {"description": "0: Accepted for delivery", "content": TEXT_CONTENT},
        "400": {"description": "a one-line reason", "content": TEXT_CONTENT},
        "403": {"description": "Authorization failed for sendsms", "content": TEXT_CONTENT},
        "429": {"description": "too many failed authorizations", "content": TEXT_CONTENT},
        "503": {"description": ERROR_TEXT["503"], "content": json_content(m.ErrorBody)},
    }
    common = {
        "tags": ["kannel"],
        "description": "username is an API key's name, password the key (operator role); "
        "the answers are Kannel's.",
        "security": [],
        "responses": responses,
    }
    form = {
        "application/x-www-form-urlencoded": {
            "schema": {"type": "object", "properties": KANNEL_PARAMS}
        }
    }
    return {
        "get": {
            "operationId": "kannelSendSms",
            "summary": "Send as Kannel's smsbox does (query parameters)",
            "parameters": params,
            **common,
        },
        "post": {
            "operationId": "kannelSendSmsForm",
            "summary": "Send as Kannel's smsbox does (form body)",
            "requestBody": {"required": False, "content": form},
            **common,
        },
    }


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
    paths["/cgi-bin/sendsms"] = kannel_operations()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SMS Gateway API",
            "version": __version__,
            "description": "Send SMS, follow their delivery, read the inbox, check modems. "
            'Errors are {"error": {"code", "message", "field"?}}.',
        },
        "servers": [{"url": "/"}],
        "tags": TAGS,
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
