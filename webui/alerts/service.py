"""Alerts as the API and the pages see them: the settings (read by anyone who may open the
settings page, changed by admins, every change audited as ``alerts.settings`` with what
changed) and the lists of active alerts and recent steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.queue.view import iso
from gatewayd.store import Database, alert_history, alert_states
from webui.addresses import AddressPolicy
from webui.alerts.runner import load_settings
from webui.alerts.settings import SETTING_NAME, AlertSettings, parse_settings
from webui.audit import record
from webui.services.caller import Caller
from webui.services.errors import Invalid
from webui.services.preferences import write_setting
from webui.webhooks.urls import WebhookUrlError, checked_webhook_url

RECENT = 50


def _active_json(row: Any) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "subject": row.subject,
        "text": row.text,
        "detail": row.detail or {},
        "raised_at": iso(row.raised_at) if row.raised_at else None,
        "notified_at": iso(row.notified_at) if row.notified_at else None,
    }


async def active_alerts(conn: AsyncConnection) -> list[dict[str, Any]]:
    """The alerts raised and not cleared, oldest first."""
    rows = await conn.execute(
        select(alert_states)
        .where(alert_states.c.active.is_(True))
        .order_by(alert_states.c.raised_at, alert_states.c.id)
    )
    return [_active_json(row) for row in rows]


def changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """What differs between two settings documents, as ``{"kinds.x.quiet": [old, new]}``."""
    found: dict[str, Any] = {}
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            found |= changes(before, after, f"{prefix}{key}.")
        elif before != after:
            found[f"{prefix}{key}"] = [before, after]
    return found


@dataclass(frozen=True)
class Alerts:
    db: Database
    webhook_policy: AddressPolicy

    async def settings(self) -> AlertSettings:
        async with self.db.read() as conn:
            return await load_settings(conn)

    async def save(self, caller: Caller, data: Any) -> AlertSettings:
        """Check and store a whole settings document; :class:`Invalid` names a bad field."""
        settings = parse_settings(data)
        if settings.webhook_url is not None:
            try:
                url = await checked_webhook_url(settings.webhook_url, self.webhook_policy)
            except WebhookUrlError as exc:
                code = "webhook_not_allowed" if exc.refused else "invalid_webhook_url"
                raise Invalid(code, str(exc), "webhook_url") from None
            settings = AlertSettings(settings.email_to, url, settings.kinds)
        async with self.db.begin() as conn:
            old = (await load_settings(conn)).to_json()
            new = settings.to_json()
            await write_setting(conn, SETTING_NAME, new)
            await record(
                conn,
                caller.actor,
                "alerts.settings",
                None,
                {"changed": changes(old, new)},
                caller.client_address,
            )
        return settings

    async def listing(self) -> dict[str, Any]:
        async with self.db.read() as conn:
            active = await active_alerts(conn)
            rows = await conn.execute(
                select(alert_history).order_by(alert_history.c.id.desc()).limit(RECENT)
            )
            recent = [
                {
                    "kind": row.kind,
                    "subject": row.subject,
                    "event": row.event,
                    "at": iso(row.at),
                    "text": row.text,
                    "notified": list(row.notified or []),
                }
                for row in rows
            ]
        return {"active": active, "recent": recent}
