"""Storage: the schema (SQLAlchemy Core), the :class:`Database` handle and schema migrations.

::

    from gatewayd.store import Database, DatabaseUnavailable, messages, utc_now
    db = Database.from_settings(settings.database)
    async with db.begin() as conn:          # one write transaction
        await conn.execute(messages.insert().values(...))
    async with db.read() as conn:           # reading only
        rows = (await conn.execute(messages.select())).all()
    await db.close()

Times are always aware UTC datetimes (:func:`utc_now`); naive ones are refused.

Changing the schema: edit the tables, then write a revision against a database at head::

    SMSGW_DATABASE_URL=sqlite:////tmp/dev.db gatewayd migrate
    SMSGW_DATABASE_URL=sqlite:////tmp/dev.db alembic -c gatewayd/store/alembic.ini \
        revision --autogenerate --rev-id 0003 -m "what changes"

Review it (server defaults as ``sa.func.now()`` / ``sa.false()`` so it runs on both back ends);
``tests/integration/store/test_migrations.py`` fails until head matches the metadata on
PostgreSQL and SQLite alike.
"""

from gatewayd.store.database import Database, DatabaseUnavailable
from gatewayd.store.schema import (
    LEASE_HOLDING,
    HostState,
    MessageStatus,
    PartStatus,
    gateway_hosts,
    host_takeovers,
    incoming_fragments,
    incoming_messages,
    message_events,
    message_parts,
    messages,
    metadata,
    modem_samples,
    modems,
)
from gatewayd.store.schema_access import (
    Role,
    WebhookStatus,
    api_keys,
    audit_log,
    auth_failures,
    recovery_codes,
    users,
    web_sessions,
    web_settings,
    webhook_deliveries,
)
from gatewayd.store.schema_accounts import (
    DEFAULT_ACCOUNT,
    MAX_SYSTEM_ID,
    UsagePeriod,
    account_usage,
    accounts,
)
from gatewayd.store.schema_automation import (
    MAX_MAIL_ADDRESS,
    AlertKind,
    SuppressionKind,
    alert_history,
    alert_states,
    incoming_tags,
    outgoing_mail,
    recurring_runs,
    recurring_sends,
    rule_replies,
    rules,
    suppressions,
)
from gatewayd.store.schema_contacts import (
    contact_group_members,
    contact_groups,
    contacts,
    message_templates,
)
from gatewayd.store.schema_smpp import (
    DeliveryKind,
    DeliveryStatus,
    smpp_deliveries,
    smpp_submits,
)
from gatewayd.store.schema_web import kannel_dlr, web_cursors
from gatewayd.store.types import RowId, UtcDateTime, utc_now

__all__ = [
    "DEFAULT_ACCOUNT",
    "LEASE_HOLDING",
    "MAX_MAIL_ADDRESS",
    "MAX_SYSTEM_ID",
    "AlertKind",
    "Database",
    "DatabaseUnavailable",
    "DeliveryKind",
    "DeliveryStatus",
    "HostState",
    "MessageStatus",
    "PartStatus",
    "Role",
    "RowId",
    "SuppressionKind",
    "UsagePeriod",
    "UtcDateTime",
    "WebhookStatus",
    "account_usage",
    "accounts",
    "alert_history",
    "alert_states",
    "api_keys",
    "audit_log",
    "auth_failures",
    "contact_group_members",
    "contact_groups",
    "contacts",
    "gateway_hosts",
    "host_takeovers",
    "incoming_fragments",
    "incoming_messages",
    "incoming_tags",
    "kannel_dlr",
    "message_events",
    "message_parts",
    "message_templates",
    "messages",
    "metadata",
    "modem_samples",
    "modems",
    "outgoing_mail",
    "recovery_codes",
    "recurring_runs",
    "recurring_sends",
    "rule_replies",
    "rules",
    "smpp_deliveries",
    "smpp_submits",
    "suppressions",
    "users",
    "utc_now",
    "web_cursors",
    "web_sessions",
    "web_settings",
    "webhook_deliveries",
]
