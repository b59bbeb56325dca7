"""Every form field, query parameter and path parameter of the pages and the API, fuzzed with
hypothesis: hostile values never earn a 5xx.

schemathesis covers the API's JSON bodies from its schema (see ``test_hostile_web.py``); this
covers what no schema describes. :data:`ROUTES` names the parameters of every route; a test
checks it against the app's router, the forms in the templates and the OpenAPI document, so a
new route or field cannot go unfuzzed. Requests are written byte by byte on a plain socket, so
values can be any bytes (invalid UTF-8 included), signed in as the admin with a valid CSRF
token. Each route family gets a bounded number of examples.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from aiohttp.web_urldispatcher import StaticResource
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from gatewayd.store import (
    contact_groups,
    contacts,
    message_templates,
    modems,
    utc_now,
    webhook_deliveries,
)
from tests.integration.web.conftest import WebEnv, csrf_from, login, make_web_env, settings_for
from webui.app import TEMPLATES_DIR
from webui.options import options_from_settings

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web.NotAppKeyWarning")


@dataclass(frozen=True)
class Params:
    query: tuple[str, ...] = ()
    form: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    multipart: bool = False
    json: bytes | None = None
    """The JSON body (schemathesis fuzzes those): sent as it is, the rest is fuzzed."""
    as_user: str = "admin"
    examples: int = 20
    may_answer: tuple[int, ...] = ()
    """Documented 5xx answers (modem commands without a gatewayd: 504)."""


COMPOSE_FIELDS = (
    "to",
    "text",
    "contact",
    "group",
    "send_at",
    "tz_offset",
    "modem",
    "flash",
    "status_report",
    "next",
)
ACCOUNT_FIELDS = (
    "name",
    "tps",
    "daily_quota",
    "monthly_quota",
    "allowed_networks",
    "allowed_modems",
    "incoming_modems",
    "incoming_as_parts",
    "system_id",
    "smpp_password",
    "webhook_url",
    "rotate_webhook_secret",
)
KANNEL_FIELDS = ("username", "password", "to", "text", "dlr-url", "dlr-mask")
OUTBOX_FILTER = ("status", "q", "modem", "from", "until", "tz", "batch")
INBOX_FILTER = ("q", "modem", "from", "until", "tz", "unread")
AUDIT_FILTER = ("actor", "action", "q", "from", "until", "tz")
API_MESSAGE_FILTER = ("status", "to", "modem", "since", "until", "q", "batch", "cursor")
API_INBOX_FILTER = ("since", "until", "from", "modem", "q", "unread", "cursor")
SEND_HEADERS = ("Idempotency-Key",)
MODEM_COMMAND = (504,)
VALID_SEND = b'{"to": "+5511987654321", "text": "fuzz"}'
VALID_RULE = (
    b'{"name": "fuzz", "match": {"keyword": "x"}, "actions": [{"type": "tag", "tag": "t"}]}'
)
VALID_RECURRING = (
    b'{"name": "fuzz", "text": "t", "to": ["+5511987654321"], '
    b'"schedule": {"every": "day", "at": "09:00"}}'
)
VALID_ALERT_SETTINGS = (
    b'{"email_to": ["ops@example.com"], "kinds": {"disk_full": {"threshold": 90}}}'
)
ALERT_FIELDS = (
    "email_to",
    "webhook_url",
    *(
        f"{kind}.{name}"
        for kind in ("modem_offline", "message_failed", "low_credit", "queue_stuck", "disk_full")
        for name in ("enabled", "threshold", "quiet", "window", "channels")
    ),
)
RECURRING_FIELDS = ("name", "text", "to", "group", "every", "at", "weekday", "day", "cron", "tz")
RULE_FIELDS = (
    "name",
    "keyword",
    "regex",
    "from",
    "modem",
    "start",
    "end",
    "tz",
    "weekday",
    "reply",
    "forward_to",
    "forward_email",
    "webhook",
    "add_to_group",
    "remove_from_group",
    "tag",
    "stop",
)

ROUTES: dict[str, Params] = {
    "GET /": Params(),
    "GET /ui/dashboard.json": Params(),
    "GET /ui/charts.json": Params(query=("range",)),
    "GET /ui/counts.json": Params(),
    "GET /ui/outbox.json": Params(query=("after", *OUTBOX_FILTER)),
    "GET /ui/gsm7.json": Params(),
    "GET /login": Params(query=("next",)),
    "POST /login": Params(query=("next",), form=("username", "password", "next"), examples=8),
    "GET /account": Params(query=("next",), as_user="operator"),
    "POST /account": Params(
        form=("current_password", "new_password", "confirm_password", "next", "username"),
        as_user="operator",
        examples=8,
    ),
    "GET /login/code": Params(),
    "POST /login/code": Params(form=("code",), examples=8),
    "GET /account/two-factor": Params(query=("next",), as_user="operator"),
    "POST /account/two-factor": Params(
        query=("next",), form=("action", "code", "next", "password"), as_user="operator", examples=8
    ),
    "POST /admin/users/two-factor": Params(form=("required",), examples=8),
    "POST /settings/language": Params(form=("language", "next")),
    "GET /compose": Params(query=COMPOSE_FIELDS),
    "POST /compose": Params(form=COMPOSE_FIELDS),
    "GET /outbox": Params(query=(*OUTBOX_FILTER, "before")),
    "GET /outbox.csv": Params(query=OUTBOX_FILTER, examples=10),
    "POST /outbox/bulk": Params(form=("action", "id", "confirm_unknown", *OUTBOX_FILTER)),
    "GET /outbox/{id}": Params(),
    "GET /outbox/{id}.json": Params(),
    "POST /outbox/{id}/cancel": Params(),
    "GET /inbox": Params(query=INBOX_FILTER),
    "GET /inbox.csv": Params(query=INBOX_FILTER, examples=10),
    "POST /inbox/bulk": Params(form=("action", "sender", "back")),
    "GET /inbox/{number}": Params(),
    "POST /inbox/{number}/read": Params(),
    "GET /contacts": Params(query=("q",)),
    "GET /contacts.csv": Params(),
    "POST /contacts": Params(form=("name", "number")),
    "POST /contacts/import": Params(form=("file", "csv", "confirm"), multipart=True),
    "POST /contacts/{id}": Params(form=("name", "number")),
    "POST /contacts/{id}/delete": Params(),
    "POST /groups": Params(form=("id", "name", "member")),
    "POST /groups/{id}/delete": Params(),
    "POST /templates": Params(form=("name", "text")),
    "POST /templates/{id}/delete": Params(),
    "GET /modems": Params(),
    "GET /hosts": Params(),
    "GET /modems/{name}": Params(),
    "GET /modems/{name}/signal.json": Params(),
    "POST /modems/{name}/ussd": Params(form=("code",)),
    "POST /modems/{name}/restart": Params(),
    "POST /modems/{name}/plan": Params(form=("parts",)),
    "GET /admin/users": Params(),
    "POST /admin/users": Params(form=("username", "role", "password", "locale")),
    "POST /admin/users/{id}": Params(form=("action", "role")),
    "GET /admin/api-keys": Params(),
    "POST /admin/api-keys": Params(form=("name", "role")),
    "POST /admin/api-keys/{id}/revoke": Params(),
    "GET /admin/accounts": Params(),
    "POST /admin/accounts": Params(form=("name",)),
    "GET /admin/accounts/{id}": Params(),
    "POST /admin/accounts/{id}": Params(form=ACCOUNT_FIELDS),
    "POST /admin/accounts/{id}/revoke": Params(),
    "POST /admin/api-keys/{id}/webhook": Params(form=("webhook_url",)),
    "GET /admin/webhooks": Params(query=("status",)),
    "POST /admin/webhooks/{id}/replay": Params(),
    "GET /admin/audit": Params(query=(*AUDIT_FILTER, "before")),
    "GET /admin/audit.csv": Params(query=AUDIT_FILTER, examples=10),
    "GET /admin/settings": Params(),
    "POST /admin/settings": Params(form=("default_region", "next")),
    "GET /api/health": Params(),
    "GET /api/openapi.json": Params(),
    "GET /api/metrics": Params(),
    "GET /metrics": Params(),
    "GET /api/v1/messages": Params(query=(*API_MESSAGE_FILTER, "limit")),
    "GET /api/v1/messages.csv": Params(query=API_MESSAGE_FILTER, examples=10),
    "POST /api/v1/messages": Params(headers=SEND_HEADERS, json=VALID_SEND),
    "POST /api/v1/messages/batch": Params(
        form=("file", "text", "priority", "skip_invalid"), headers=SEND_HEADERS, multipart=True
    ),
    "GET /api/v1/messages/{id}": Params(),
    "POST /api/v1/messages/{id}/cancel": Params(),
    "GET /api/v1/inbox": Params(query=(*API_INBOX_FILTER, "limit")),
    "GET /api/v1/inbox.csv": Params(query=API_INBOX_FILTER, examples=10),
    "GET /api/v1/modems": Params(),
    "POST /api/v1/modems/{name}/ussd": Params(json=b'{"code": "*100#"}', may_answer=MODEM_COMMAND),
    "POST /api/v1/modems/{name}/restart": Params(may_answer=MODEM_COMMAND),
    "GET /api/v1/me": Params(),
    "POST /api/v1/me/password": Params(json=b"{}", as_user="operator", examples=8),
    "GET /api/v1/api-keys": Params(),
    "POST /api/v1/api-keys": Params(json=b"{}"),
    "PATCH /api/v1/api-keys/{id}": Params(json=b"{}"),
    "POST /api/v1/api-keys/{id}/revoke": Params(),
    "GET /api/v1/accounts": Params(),
    "POST /api/v1/accounts": Params(json=b'{"name": "fuzz"}'),
    "GET /api/v1/accounts/{id}": Params(),
    "PATCH /api/v1/accounts/{id}": Params(json=b"{}"),
    "POST /api/v1/accounts/{id}/revoke": Params(),
    "GET /api/v1/users": Params(),
    "POST /api/v1/users": Params(json=b"{}"),
    "PATCH /api/v1/users/{id}": Params(json=b"{}"),
    "GET /api/v1/audit": Params(
        query=("limit", "cursor", "actor", "action", "q", "since", "until")
    ),
    "GET /api/v1/webhooks/deliveries": Params(query=("limit", "cursor", "status")),
    "POST /api/v1/webhooks/deliveries/{id}/replay": Params(),
    "GET /api/v1/optouts": Params(query=("q", "kind", "limit", "offset")),
    "POST /api/v1/optouts": Params(json=b'{"number": "+5511987654321"}'),
    "DELETE /api/v1/optouts/{number}": Params(query=("kind",)),
    "GET /optouts": Params(query=("q", "kind", "page")),
    "POST /optouts": Params(form=("number", "kind", "prefix", "note")),
    "POST /optouts/remove": Params(form=("number", "kind")),
    "POST /optouts/import": Params(form=("csv", "kind")),
    "GET /optouts/export.csv": Params(),
    "POST /optouts/words": Params(form=("stop_words", "start_words", "stop_reply", "start_reply")),
    "GET /api/v1/rules": Params(),
    "POST /api/v1/rules": Params(json=VALID_RULE),
    "POST /api/v1/rules/test": Params(json=b'{"text": "INFO", "from": "+5511987654321"}'),
    "GET /api/v1/rules/{id}": Params(),
    "PUT /api/v1/rules/{id}": Params(json=VALID_RULE),
    "DELETE /api/v1/rules/{id}": Params(),
    "GET /rules": Params(query=("text", "from", "modem")),
    "POST /rules": Params(form=RULE_FIELDS),
    "GET /rules/test.json": Params(query=("text", "from", "modem")),
    "POST /rules/{id}/toggle": Params(),
    "POST /rules/{id}/delete": Params(),
    "GET /api/v1/recurring": Params(),
    "POST /api/v1/recurring": Params(json=VALID_RECURRING),
    "GET /api/v1/recurring/{id}": Params(),
    "PUT /api/v1/recurring/{id}": Params(json=VALID_RECURRING),
    "DELETE /api/v1/recurring/{id}": Params(),
    "GET /recurring": Params(),
    "POST /recurring": Params(form=RECURRING_FIELDS),
    "POST /recurring/{id}/pause": Params(),
    "POST /recurring/{id}/resume": Params(),
    "POST /recurring/{id}/delete": Params(),
    "GET /api/v1/alerts": Params(),
    "GET /api/v1/alerts/settings": Params(),
    "PUT /api/v1/alerts/settings": Params(json=VALID_ALERT_SETTINGS),
    "GET /admin/alerts": Params(),
    "POST /admin/alerts": Params(form=ALERT_FIELDS),
    "GET /ui/alerts": Params(),
    "GET /cgi-bin/sendsms": Params(query=KANNEL_FIELDS),
    "POST /cgi-bin/sendsms": Params(form=KANNEL_FIELDS, headers=("Authorization",)),
}
NOT_FUZZED = {
    "GET /events": "a stream that stays open; it takes no parameter",
    "POST /logout": "ends the session the fuzz runs in; it takes only the CSRF token",
}

# ---- hostile values, as the bytes that go on the wire ----

FIXED = [
    "",
    " ",
    "0",
    "-0",
    "-1",
    "1",
    "2",
    str(2**31),
    str(2**63 - 1),
    str(2**63),
    str(-(2**63) - 1),
    "9" * 40,
    "1e309",
    "NaN",
    "-inf",
    "0x10",
    "1_000",
    "²",
    "٣",
    "١٢٣",
    "+5511987654321",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+14:00",
    "2026-13-45T25:61:61",
    "9999-12-31T23:59:59",
    "0001-01-01T00:00:00",
    "2026-02-30",
    "Z",
    "true",
    "on",
    "null",
    "../../etc/passwd",
    "//evil.example/x",
    "/\t/evil.example",
    "http://169.254.169.254/",
    "%",
    "%%",
    "%00",
    "\x00",
    "\x7f\x1b[2J",
    "\u202e",
    "\ufeff",
    "<script>",
    "{{ 7*7 }}",
    "' OR 1=1 --",
    "admin",
    "operator",
    "viewer",
    "m1",
    "*100#",
    "pt",
    "en",
    "role",
    "lock",
    "unlock",
    "reset_password",
    "queued",
    "failed",
]
SEEDED_IDS = ("1", "2", "3")


def _repeat(pair: tuple[bytes, int]) -> bytes:
    return pair[0] * pair[1]


def cursor(before: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": before}).encode()).decode()


EDGE_TIMES = st.builds(
    "{}{}".format,
    st.sampled_from(
        [
            "9999-12-31T23:59:59",
            "0001-01-01T00:00:00",
            "2026-06-01T12:00:00",
            "9999-12-31",
            "0001-01-01",
        ]
    ),
    st.sampled_from(["", "Z", "+14:00", "-23:59", "+23:59", "-00:01"]),
)
EDGE_CURSORS = st.builds(
    cursor, st.one_of(st.integers(), st.sampled_from([2**63, 2**63 - 1, -(2**63) - 1, 0, 10**40]))
)
hostile_bytes: st.SearchStrategy[bytes] = st.one_of(
    st.sampled_from(FIXED).map(str.encode),
    EDGE_TIMES.map(str.encode),
    EDGE_CURSORS.map(str.encode),
    st.integers().map(lambda n: str(n).encode()),
    st.text(max_size=40).map(str.encode),
    st.binary(max_size=24),
    st.tuples(
        st.sampled_from([b"9", b"x", b"\xe2\x80\xae", b"\xff"]), st.integers(300, 20_000)
    ).map(_repeat),
    st.datetimes().map(lambda d: d.isoformat().encode()),
)
path_bytes = st.one_of(st.sampled_from((*SEEDED_IDS, "m1")).map(str.encode), hostile_bytes)


def header_safe(value: bytes) -> bytes:
    """A header value cannot hold CR or LF (that would be another request, not a value)."""
    return value.replace(b"\r", b"").replace(b"\n", b"")[:4000]


@dataclass
class Wire:
    """A blocking HTTP/1.1 client on a plain socket, for the fuzz's worker thread."""

    host: str
    port: int
    cookie: bytes
    csrf: bytes

    def send(
        self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, bytes]:
        lines = [
            method.encode() + b" " + target + b" HTTP/1.1",
            b"Host: gateway",
            b"Connection: close",
            b"Cookie: " + self.cookie,
            b"X-CSRF-Token: " + self.csrf,
            b"Content-Length: " + str(len(body)).encode(),
        ]
        lines += [name + b": " + value for name, value in headers]
        with socket.create_connection((self.host, self.port), timeout=60) as sock:
            sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        raw = b"".join(chunks)
        status = int(raw.split(b" ", 2)[1])
        return status, raw.partition(b"\r\n\r\n")[2][:300]


def urlencoded(pairs: Sequence[tuple[str, bytes]]) -> bytes:
    return "&".join(
        quote_from_bytes(k.encode(), safe="") + "=" + quote_from_bytes(v, safe="") for k, v in pairs
    ).encode()


def multipart(pairs: Sequence[tuple[str, bytes]], boundary: bytes) -> bytes:
    parts = []
    for name, value in pairs:
        filename = b'; filename="numbers.csv"' if name == "file" else b""
        parts.append(
            b"--"
            + boundary
            + b'\r\nContent-Disposition: form-data; name="'
            + name.encode()
            + b'"'
            + filename
            + b"\r\n\r\n"
            + value
            + b"\r\n"
        )
    return b"".join(parts) + b"--" + boundary + b"--\r\n"


PATH_PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def request_strategy(route: str, params: Params) -> st.SearchStrategy[dict[str, Any]]:
    method, pattern = route.split(" ", 1)
    names = PATH_PARAMETER.findall(pattern)
    pairs = st.lists(
        st.tuples(st.sampled_from(params.query or ("unused",)), hostile_bytes),
        max_size=4 if params.query else 0,
    )
    fields = st.lists(
        st.tuples(st.sampled_from(params.form or ("unused",)), hostile_bytes),
        max_size=8 if params.form else 0,
    )
    headers = st.lists(
        st.tuples(st.sampled_from(params.headers or ("unused",)), hostile_bytes.map(header_safe)),
        max_size=2 if params.headers else 0,
    )
    return st.fixed_dictionaries(
        {
            "method": st.just(method),
            "pattern": st.just(pattern),
            "path": st.fixed_dictionaries({name: path_bytes for name in names}),
            "query": pairs,
            "form": fields,
            "headers": headers,
        }
    )


def build(
    example: dict[str, Any], params: Params
) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    target = example["pattern"]
    for name, value in example["path"].items():
        encoded = quote_from_bytes(value, safe="")  # letters, digits, "_.-~" and %XX only
        target = re.sub(r"\{" + name + r"(:[^}]*)?\}", encoded, target)
    raw_target = target.encode()
    if example["query"]:
        raw_target += b"?" + urlencoded(example["query"])
    headers = [(name.encode(), value) for name, value in example["headers"]]
    body = b""
    if params.multipart:
        boundary = b"fuzzboundary7MA4YWxk"
        headers.append((b"Content-Type", b"multipart/form-data; boundary=" + boundary))
        body = multipart(example["form"], boundary)
    elif params.json is not None:
        headers.append((b"Content-Type", b"application/json"))
        body = params.json
    elif example["method"] != "GET":
        headers.append((b"Content-Type", b"application/x-www-form-urlencoded"))
        body = urlencoded(example["form"])
    return raw_target, headers, body


def budget(route: str, params: Params) -> int:
    """Examples for a route: fewer where only the path (or nothing) varies."""
    if params.query or params.form or params.headers:
        return params.examples
    return 8 if PATH_PARAMETER.search(route) else 2


def fuzz_route(wire: Wire, route: str, params: Params) -> int:
    """Run hypothesis over one route in the calling (worker) thread; the requests sent."""
    sent = 0

    @settings(
        max_examples=budget(route, params),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request_strategy(route, params))
    def one(example: dict[str, Any]) -> None:
        nonlocal sent
        target, headers, body = build(example, params)
        status, answer = wire.send(example["method"], target, headers, body)
        sent += 1
        allowed = status < 500 or status in params.may_answer
        assert allowed, f"{example['method']} {target[:300]!r}: {status} {answer!r}"

    one()
    return sent


# ---- the server under test ----


@pytest.fixture
async def web(pg_url: str) -> AsyncIterator[WebEnv]:
    def options(settings):  # type: ignore[no-untyped-def]
        return options_from_settings(settings, run_dispatcher=False, command_timeout=0.05)

    async for env in make_web_env(settings_for(pg_url), options):
        await seed_rows(env)
        yield env


async def seed_rows(web: WebEnv) -> None:
    """One row of each kind the id routes point at, so their real paths run too."""
    now = utc_now()
    async with web.db.begin() as conn:
        await conn.execute(
            insert(contacts).values(name="Ana", number="+5511987654321", created_at=now)
        )
        await conn.execute(insert(contact_groups).values(name="Team", created_at=now))
        await conn.execute(insert(message_templates).values(name="t", text="Oi", created_at=now))
        await conn.execute(
            insert(modems).values(
                name="m1", host="h", device="/dev/null", state="online", last_seen=now
            )
        )
        await conn.execute(
            insert(webhook_deliveries).values(
                event="message.status",
                url="https://hooks.example.com/x",
                payload={},
                created_at=now,
                next_attempt_at=None,
                status="failed",
            )
        )
    response = await web.client.post(
        "/api/v1/messages",
        headers=web.bearer("operator"),
        json={"to": "+5511987654321", "text": "seed"},
    )
    assert response.status == 202


async def signed_in_wire(web: WebEnv, username: str) -> Wire:
    web.client.session.cookie_jar.clear()
    answer = await login(web.client, username)
    assert answer.status in (302, 303), answer.status
    csrf = csrf_from(await (await web.client.get("/account")).text())
    cookie = "; ".join(f"{c.key}={c.value}" for c in web.client.session.cookie_jar)
    assert web.client.port is not None
    return Wire(web.client.host, web.client.port, cookie.encode(), csrf.encode())


FAMILIES_BY_PREFIX = {
    "/": "monitoring",
    "/ui": "monitoring",
    "/api": "monitoring",
    "/metrics": "monitoring",
    "/login": "sign-in",
    "/account": "sign-in",
    "/settings": "sign-in",
    "/compose": "sending",
    "/outbox": "sending",
    "/inbox": "address-book",
    "/contacts": "address-book",
    "/groups": "address-book",
    "/templates": "address-book",
    "/modems": "modems",
    "/admin": "admin",
    "/api/v1": "api-admin",
    "/api/v1/messages": "api-messages",
    "/api/v1/inbox": "api-messages",
    "/api/v1/modems": "api-modems",
    "/cgi-bin": "kannel",
    "/optouts": "automation",
    "/rules": "automation",
    "/recurring": "automation",
    "/api/v1/recurring": "api-automation",
    "/api/v1/rules": "api-automation",
    "/api/v1/optouts": "api-automation",
    "/api/v1/alerts": "api-automation",
}


def family_of(route: str) -> str:
    """The family of the longest prefix (in whole path segments) of the route's path."""
    path = route.split(" ", 1)[1]
    matches = [
        prefix
        for prefix in FAMILIES_BY_PREFIX
        if path == prefix or path.startswith(prefix.rstrip("/") + "/")
    ]
    return FAMILIES_BY_PREFIX[max(matches, key=len)]


FAMILIES = sorted({family_of(route) for route in ROUTES})


@pytest.mark.parametrize("family", FAMILIES)
async def test_no_5xx_for_hostile_parameters(web: WebEnv, family: str) -> None:
    wires: dict[str, Wire] = {}
    sent = 0
    for route, params in ROUTES.items():
        if family_of(route) != family:
            continue
        if params.as_user not in wires:
            wires[params.as_user] = await signed_in_wire(web, params.as_user)
        sent += await asyncio.to_thread(fuzz_route, wires[params.as_user], route, params)
    assert sent > 0
    for username, wire in wires.items():
        me = await asyncio.to_thread(wire.send, "GET", b"/api/v1/me", [], b"")
        assert me[0] == 200, f"{username}'s session was lost during the fuzz: {me}"


# ---- the table is complete ----


class FormFields(HTMLParser):
    """Field names of each ``<form>`` in a template, keyed by method and action."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, set[str]] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            action = re.sub(r"\{\{.*?\}\}", "*", found.get("action") or "").split("?", 1)[0]
            method = (found.get("method") or "get").upper()
            self._current = f"{method} {action}"
            self.forms.setdefault(self._current, set())
        elif tag in ("input", "select", "textarea", "button") and self._current:
            name = found.get("name")
            if name and "{{" not in name:
                self.forms[self._current].add(name)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_in_templates() -> dict[str, dict[str, set[str]]]:
    found = {}
    for template in sorted(Path(TEMPLATES_DIR).glob("*.html")):
        parser = FormFields()
        parser.feed(template.read_text())
        found[template.name] = parser.forms
    return found


def route_key(method: str, canonical: str) -> str:
    return f"{method} {PATH_PARAMETER.sub('*', canonical)}"


async def test_every_route_and_field_is_fuzzed(web: WebEnv) -> None:
    served = set()
    for route in web.app.router.routes():
        resource = route.resource
        if route.method == "HEAD" or resource is None or isinstance(resource, StaticResource):
            continue
        served.add(f"{route.method} {resource.canonical}")
    assert served - set(ROUTES) - set(NOT_FUZZED) == set(), "routes missing from ROUTES"
    assert set(ROUTES) - served == set(), "ROUTES names routes that do not exist"
    by_key = {route_key(*route.split(" ", 1)): params for route, params in ROUTES.items()}
    for template, forms in forms_in_templates().items():
        for form, names in forms.items():
            params = by_key.get(form)
            assert params is not None or form in NOT_FUZZED, f"{template}: {form}"
            known = set(params.query + params.form) if params else set()
            missing = names - known - {"csrf_token"}
            assert not missing, f"{template}: {form} fields {missing} are not fuzzed"
    document = await (await web.client.get("/api/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            params = ROUTES[f"{method.upper()} {path}"]
            for parameter in operation.get("parameters", []):
                where, name = parameter["in"], parameter["name"]
                declared = {"query": params.query, "header": params.headers, "path": (name,)}
                assert name in declared.get(where, ()), f"{method} {path}: {where} {name}"
