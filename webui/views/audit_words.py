"""Audit entries as a person reads them: who (a user, an API key by its name, the system, or
nobody signed in for a refused sign-in), what (the action in words, the code beside), on what
(a message, a batch, a key... with a link where there is a page) and the details as labelled
values instead of raw JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import api_keys
from webui.i18n import N_, gettext
from webui.views.labels import audit_action, label

TARGETS = {
    "message": (N_("Message #%(id)s"), "/outbox/{}"),
    "batch": (N_("Batch #%(id)s"), "/outbox?batch={}"),
    "contact": (N_("Contact #%(id)s"), "/contacts"),
    "group": (N_("Group #%(id)s"), "/contacts"),
    "template": (N_("Template #%(id)s"), "/contacts#templates"),
    "delivery": (N_("Webhook delivery #%(id)s"), "/admin/webhooks"),
    "modem": (N_("Modem %(id)s"), "/modems/{}"),
}
DETAIL_NAMES = {
    "count": N_("messages"),
    "to": N_("to"),
    "first_id": N_("first message"),
    "skipped": N_("left out"),
    "role": N_("role"),
    "outcome": N_("reason"),
    "code": N_("code"),
    "ok": N_("answered"),
    "ids": N_("messages"),
    "from": N_("messages sent again"),
    "as": N_("new messages"),
    "unknown_confirmed": N_("unknown ones confirmed"),
    "region": N_("country"),
    "parts_per_month": N_("SMS a month"),
    "added": N_("added"),
    "renamed": N_("renamed"),
    "senders": N_("conversations"),
    "messages": N_("messages"),
    "url": N_("URL"),
    "webhook_url": N_("webhook URL"),
    "secret_rotated": N_("new secret"),
    "name": N_("name"),
    "members": N_("members"),
    "was_on": N_("was on"),
    "required": N_("required"),
    "bulk": N_("several at once"),
    "password_reset": N_("password reset"),
    "disabled": N_("disabled"),
    "unlock": N_("unlocked"),
    "id": N_("id"),
}
OUTCOMES = {
    "wrong_password": N_("wrong user name or password"),
    "throttled": N_("too many attempts"),
    "locked": N_("account locked or disabled"),
    "busy": N_("server busy"),
    "wrong_code": N_("wrong code"),
}
SHOWN_ITEMS = 10


@dataclass(frozen=True)
class Said:
    """One entry in words."""

    id: int
    at: Any
    who: str
    who_kind: str
    """``user``, ``api_key``, ``system`` or ``nobody`` (a refused sign-in)."""
    action: str
    action_code: str
    target: str
    target_href: str | None
    details: list[tuple[str, str]] = field(default_factory=list)
    client_address: str | None = None


async def key_names(conn: AsyncConnection, rows: Iterable[Any]) -> dict[str, str]:
    """Names of the API keys the entries mention (as actor or target), by id."""
    wanted: set[int] = set()
    for row in rows:
        for text in (row.actor, row.target or ""):
            kind, _, ident = text.partition(":")
            if kind == "api_key" and ident.isdigit():
                wanted.add(int(ident))
    if not wanted:
        return {}
    found = await conn.execute(
        select(api_keys.c.id, api_keys.c.name).where(api_keys.c.id.in_(sorted(wanted)))
    )
    return {str(row.id): row.name for row in found}


def _who(actor: str, action: str, keys: Mapping[str, str]) -> tuple[str, str]:
    kind, _, name = actor.partition(":")
    if action == "login.failed" or actor == "anonymous":
        return gettext("nobody signed in"), "nobody"
    if kind == "user":
        return name, "user"
    if kind == "api_key":
        return gettext("API key “%(name)s”") % {"name": keys.get(name, "#" + name)}, "api_key"
    if actor == "cli":
        return gettext("command line"), "system"
    return gettext("system") if actor == "system" else actor, "system"


def _target(target: str | None, action: str, keys: Mapping[str, str]) -> tuple[str, str | None]:
    if not target:
        return "", None
    if action == "login.failed":
        return gettext("user name typed: %(name)s") % {"name": target}, None
    kind, colon, ident = target.partition(":")
    if colon and kind == "api_key":
        return gettext("API key “%(name)s”") % {"name": keys.get(ident, "#" + ident)}, (
            "/admin/api-keys"
        )
    if colon and kind in TARGETS:
        words, href = TARGETS[kind]
        return gettext(words) % {"id": ident}, href.format(quote(ident, safe=""))
    return target, None


def _value(name: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        shown = ", ".join(str(item) for item in value[:SHOWN_ITEMS])
        return shown + (f" … (+{len(value) - SHOWN_ITEMS})" if len(value) > SHOWN_ITEMS else "")
    if name == "outcome" and str(value) in OUTCOMES:
        return gettext(OUTCOMES[str(value)])
    if name == "role":
        return label(str(value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(k, v)}" for k, v in value.items())
    return str(value)


def _details(detail: Any) -> list[tuple[str, str]]:
    if not isinstance(detail, dict):
        return [] if detail is None else [("", str(detail))]
    return [
        (gettext(DETAIL_NAMES[name]) if name in DETAIL_NAMES else name, _value(name, value))
        for name, value in detail.items()
    ]


def actor_words(actor: str, action: str, keys: Mapping[str, str]) -> str:
    """Who did it, as the audit page says it (an API key by its name, not ``api_key:2``)."""
    return _who(actor, action, keys)[0]


def describe(row: Any, keys: Mapping[str, str]) -> Said:
    who, kind = _who(row.actor, row.action, keys)
    target, href = _target(row.target, row.action, keys)
    return Said(
        id=row.id,
        at=row.at,
        who=who,
        who_kind=kind,
        action=audit_action(row.action),
        action_code=row.action,
        target=target,
        target_href=href,
        details=_details(row.detail),
        client_address=row.client_address,
    )
