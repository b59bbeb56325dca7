"""Rules on incoming SMS as operators manage them: list, read, create, replace, delete (each
change audited), and the dry run of the "test this message" box.

A rule is checked in full before it is stored (:func:`webui.services.rule_match.parse_rule`,
which refuses patterns that backtrack too much); webhook addresses are held to the webhook
policy; a rule may name a group that is later deleted: it is kept, and the action reports
the missing group in the rule's ``last_error`` when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.view import iso
from gatewayd.store import Database, rules, utc_now
from webui.addresses import AddressPolicy
from webui.audit import record
from webui.services.caller import Caller
from webui.services.errors import Invalid, NotFound
from webui.services.rule_actions import replyable
from webui.services.rule_match import Incoming, evaluate, fill, parse_rule
from webui.services.rule_runner import RuleCache
from webui.webhooks.urls import WebhookUrlError, checked_webhook_url

MAX_RULES = 1000
MAX_POSITION = 2**31 - 1
FIELDS = ("name", "enabled", "match", "actions", "stop", "position")


def rule_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "position": row.position,
        "enabled": bool(row.enabled),
        "match": row.match,
        "actions": row.actions,
        "stop": bool(row.stop),
        "matched": row.matched,
        "last_matched_at": iso(row.last_matched_at) if row.last_matched_at else None,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


@dataclass(frozen=True)
class RuleStore:
    db: Database
    webhook_policy: AddressPolicy

    async def list(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await conn.execute(select(rules).order_by(rules.c.position, rules.c.id))
            return [rule_json(row) for row in rows]

    async def get(self, rule_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            return rule_json(await _row(conn, rule_id))

    async def _checked(self, data: dict[str, Any]) -> dict[str, Any]:
        unknown = set(data) - set(FIELDS)
        if unknown:
            raise Invalid("invalid_rule", f"unknown fields: {sorted(unknown)}", sorted(unknown)[0])
        rule = parse_rule(0, data)
        position = data.get("position")
        if position is not None and (
            not isinstance(position, int)
            or isinstance(position, bool)
            or not 0 <= position <= MAX_POSITION
        ):
            raise Invalid("invalid_rule", "position is a whole number from 0", "position")
        for index, action in enumerate(rule.actions):
            if action["type"] == "webhook":
                try:
                    action["url"] = await checked_webhook_url(action["url"], self.webhook_policy)
                except WebhookUrlError as exc:
                    raise Invalid("invalid_url", str(exc), f"actions[{index}].url") from None
        return {
            "name": rule.name,
            "enabled": rule.enabled,
            "stop": rule.stop,
            "match": {k: v for k, v in (data.get("match") or {}).items() if v not in (None, "")},
            "actions": list(rule.actions),
            "position": position,
        }

    async def create(self, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
        values = await self._checked(data)
        now = utc_now()
        async with self.db.begin() as conn:
            count = int(await conn.scalar(select(func.count()).select_from(rules)) or 0)
            if count >= MAX_RULES:
                raise Invalid("too_many_rules", f"at most {MAX_RULES} rules", "name")
            if values["position"] is None:
                # After the last one, never past the column's range (equal positions: by id).
                last = await conn.scalar(select(func.max(rules.c.position)))
                values["position"] = min(int(last or 0) + 10, MAX_POSITION)
            result = await conn.execute(
                insert(rules).values(**values, created_at=now, updated_at=now).returning(rules.c.id)
            )
            rule_id = int(result.scalar_one())
            await record(
                conn,
                caller.actor,
                "rule.create",
                str(rule_id),
                {"name": values["name"]},
                caller.client_address,
            )
            return rule_json(await _row(conn, rule_id))

    async def replace(self, caller: Caller, rule_id: int, data: dict[str, Any]) -> dict[str, Any]:
        values = await self._checked(data)
        async with self.db.begin() as conn:
            old = await _row(conn, rule_id)
            if values["position"] is None:
                values["position"] = old.position
            await conn.execute(
                update(rules)
                .where(rules.c.id == rule_id)
                .values(**values, updated_at=utc_now(), last_error=None)
            )
            await record(
                conn,
                caller.actor,
                "rule.update",
                str(rule_id),
                {"name": values["name"]},
                caller.client_address,
            )
            return rule_json(await _row(conn, rule_id))

    async def delete(self, caller: Caller, rule_id: int) -> None:
        async with self.db.begin() as conn:
            old = await _row(conn, rule_id)
            await conn.execute(delete(rules).where(rules.c.id == rule_id))
            await record(
                conn,
                caller.actor,
                "rule.delete",
                str(rule_id),
                {"name": old.name},
                caller.client_address,
            )

    async def test(
        self, *, sender: str, text: str, modem: str = "", at: datetime | None = None
    ) -> dict[str, Any]:
        """What the enabled rules would do with this message; nothing is sent or changed."""
        message = Incoming(0, sender[:32], text[:2000], modem[:32], at or utc_now())
        async with self.db.read() as conn:
            enabled = await RuleCache().enabled(conn)
        matched = evaluate(enabled, message)
        return {
            "matched": [
                {
                    "id": rule.id,
                    "name": rule.name,
                    "stop": rule.stop,
                    "actions": [_preview(action, message) for action in rule.actions],
                }
                for rule in matched
            ],
            "replyable": replyable(message.sender) is not None,
        }


def _preview(action: dict[str, Any], message: Incoming) -> dict[str, Any]:
    shown = dict(action)
    for name in ("text", "subject", "body"):
        if isinstance(shown.get(name), str):
            shown[name] = fill(shown[name], message)
    return shown


async def _row(conn: AsyncConnection, rule_id: int) -> Any:
    row = (await conn.execute(select(rules).where(rules.c.id == rule_id))).first()
    if row is None:
        raise NotFound("not_found", "no rule has this id", "id")
    return row
