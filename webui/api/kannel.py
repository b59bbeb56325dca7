"""``GET|POST /cgi-bin/sendsms``: Kannel's smsbox interface, for programs written for Kannel.

``username`` is an API key's name and ``password`` the key itself; the key needs the operator
role. The key is the only credential looked at (never the session cookie), so a POST needs no
CSRF token. Failed keys are logged (``"Failed API key"``) and count against the client
address in the login throttle; a blocked address gets ``429``. The key's client account
applies: a revoked account, or an address outside its networks, is ``Authorization failed
for sendsms`` (403, as Kannel answers a denied IP); over its throughput limit the answer is
``429`` ``Throttled: …`` and over a quota ``429`` ``Quota exceeded: …``, both with
``Retry-After``. Answers are Kannel's:
``0: Accepted for delivery`` (202); errors are ``Authorization failed for sendsms`` (403) or a
one-line reason (400). Several recipients are separated by spaces, as in Kannel, at most
:data:`~webui.services.sending.MAX_RECIPIENTS`. ``dlr-url`` and ``dlr-mask`` ask for Kannel-style
delivery reports (see :mod:`webui.webhooks.kannel`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue import NewMessage
from gatewayd.store import Role, kannel_dlr
from webui.api.inputs import read_form
from webui.auth import throttle
from webui.auth.apikeys import identify_key
from webui.auth.identity import Identity, own_credentials, public
from webui.errors import ApiError, retry_after_header
from webui.keys import ACCOUNTS, CLIENT_ADDRESS, DB, OPTIONS, SENDING, THROTTLE
from webui.services.accounts import Account
from webui.services.caller import Caller
from webui.services.errors import QuotaExceeded, ServiceError, Throttled
from webui.services.sending import MAX_RECIPIENTS
from webui.webhooks.kannel import dlr_mask
from webui.webhooks.urls import WebhookUrlError, checked_webhook_url

AUTH_FAILED = "Authorization failed for sendsms"
THROTTLED = "Too many failed authorizations from this address; try again later"

log = structlog.get_logger("webui.kannel")


class KannelRefusal(Exception):
    """Parameters that cannot be read; answered with a plain-text 400, as Kannel does."""


def text_answer(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")


async def _params(request: web.Request) -> Mapping[str, Any]:
    params: Mapping[str, Any] = request.query
    if request.method == "POST":
        form = await read_form(request)
        params = {**request.query, **{k: v for k, v in form.items() if isinstance(v, str)}}
    if any("\x00" in str(value) for value in params.values()):
        raise KannelRefusal("a parameter holds a NUL character")
    return params


async def _authorised(
    request: web.Request, params: Mapping[str, Any]
) -> tuple[Identity, Account | None] | None:
    """The operator key named by ``username``/``password`` and its account; None (logged,
    counted against the address unless only its account's networks refused it) otherwise."""
    username = str(params.get("username", ""))[:100]
    key = str(params.get("password", ""))
    address = request[CLIENT_ADDRESS]
    async with request.app[DB].begin() as conn:
        identity = await identify_key(conn, key) if key else None
    account = None
    if identity is not None and identity.account_id is not None:
        account = await request.app[ACCOUNTS].current(identity.account_id)
    if identity is None or (account is not None and account.revoked):
        reason = "unknown_key" if key else "no_key"
    elif identity.name != username:
        reason = "wrong_username"
    elif not identity.has_role(Role.OPERATOR):
        reason = "role_too_small"
    elif account is not None and not account.allows_address(address):
        log.warning(
            "API key refused: network", key=identity.name, client_address=address, path=request.path
        )
        return None
    else:
        return identity, account
    async with request.app[DB].begin() as conn:
        await throttle.record_failure(conn, request.app[THROTTLE], address, username, "api_key")
    log.warning(
        "Failed API key",
        username=username,
        client_address=address,
        reason=reason,
        path=request.path,
    )
    return None


@public
@own_credentials
async def sendsms(request: web.Request) -> web.Response:
    try:
        params = await _params(request)
    except ApiError as exc:  # a form body that does not parse
        return text_answer(400, exc.message)
    except KannelRefusal as exc:
        return text_answer(400, str(exc))
    address = request[CLIENT_ADDRESS]
    async with request.app[DB].read() as conn:
        refused = await throttle.refusal(
            conn, request.app[THROTTLE], address, str(params.get("username", ""))
        )
    if refused is not None:
        log.warning(
            "Failed API key",
            username=str(params.get("username", ""))[:100],
            client_address=address,
            reason="address throttled",
            path=request.path,
        )
        return text_answer(429, THROTTLED)
    authorised = await _authorised(request, params)
    if authorised is None:
        return text_answer(403, AUTH_FAILED)
    identity, account = authorised
    raw_to = str(params.get("to", ""))
    to = raw_to.strip()
    text = str(params.get("text", ""))
    if not to:
        return text_answer(400, "Missing receiver number")
    if not text:
        return text_answer(400, "Missing text")
    recipients = to.split()
    if len(recipients) > MAX_RECIPIENTS:
        return text_answer(400, f"Too many receivers (at most {MAX_RECIPIENTS})")
    if len(recipients) == 1 and raw_to.startswith(" ") and recipients[0].isdigit():
        recipients = ["+" + recipients[0]]  # an unencoded "+" in the query became a space
    mask_text = str(params.get("dlr-mask", "") or "0")
    dlr_url = str(params.get("dlr-url", "") or "")
    try:
        mask = dlr_mask(mask_text)
        if dlr_url:
            policy = request.app[OPTIONS].webhook_policy
            dlr_url = await checked_webhook_url(dlr_url, policy, template=True)
    except (ValueError, WebhookUrlError) as exc:
        return text_answer(400, f"Invalid dlr-url or dlr-mask: {exc}")
    template = NewMessage(to="", text=text, status_report=True)
    try:
        prepared = await request.app[SENDING].validate(template, recipients, skip_invalid=False)
    except ServiceError as exc:
        return text_answer(400, exc.message)

    async def remember_dlr(conn: AsyncConnection, ids: list[int]) -> None:
        if dlr_url and mask:
            await conn.execute(
                insert(kannel_dlr), [{"message_id": i, "url": dlr_url, "mask": mask} for i in ids]
            )

    caller = Caller(identity.actor, request[CLIENT_ADDRESS], account)
    try:
        await request.app[SENDING].queue_prepared(caller, prepared, key=None, extra=remember_dlr)
    except (Throttled, QuotaExceeded) as exc:
        word = "Throttled" if isinstance(exc, Throttled) else "Quota exceeded"
        answer = text_answer(429, f"{word}: {exc.message}")
        answer.headers.update(retry_after_header(exc) or {})
        return answer
    except ServiceError as exc:
        return text_answer(400, exc.message)
    return text_answer(202, "0: Accepted for delivery")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/cgi-bin/sendsms", sendsms, name="kannel.sendsms")
    router.add_post("/cgi-bin/sendsms", sendsms)
