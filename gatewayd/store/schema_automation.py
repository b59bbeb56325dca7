"""Tables of the automation features: the outgoing mail outbox, the suppression lists and the
rules on incoming SMS.

Shares :data:`gatewayd.store.schema.metadata`; importing :mod:`gatewayd.store` loads it.

``outgoing_mail`` is the durable outbox of mail the gateway sends (``forward_email`` rules,
alerts, reports to email senders): a row is written in the transaction that decides to send
it, and the mail sender delivers it later, retrying with ``attempts`` / ``next_attempt_at``
until ``sent_at`` is set. Nothing that writes a row waits for a mail server.

``suppressions`` holds the opt-out list (numbers that sent STOP or were added by hand), the
block list and the allow list (numbers or prefixes). Its unique index on ``(number, kind,
prefix)`` is the one lookup a send request makes for all its recipients.

``rules`` are evaluated in ``position`` order on every incoming SMS; ``rule_replies`` keeps
what they answered to whom (the replies-per-hour limit and the detection of two gateways
answering each other read it); ``incoming_tags`` holds the tags the ``tag`` action set.

``alert_states`` holds one row per alert (a kind and its subject: a modem, a disk, the
queue): whether it is active, since when its condition has held, when it was raised and last
notified. Every change of a row is a compare-and-set on ``version``, so of several web
processes evaluating alerts exactly one raises, repeats or clears it (and sends its mail and
webhook). ``alert_history`` keeps every raise, repeat and clear.

``recurring_sends`` are messages sent on a schedule; a daemon takes a run by moving
``next_run_at`` forward with a compare-and-set, and ``recurring_runs`` (one row per scheduled
time, unique) is its history.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

from gatewayd.store.schema import metadata, one_of, stamped
from gatewayd.store.types import RowId, UtcDateTime

MAX_MAIL_ADDRESS = 320
"""RFC 5321: 64 octets of local part, @, 255 of domain."""

outgoing_mail = Table(
    "outgoing_mail",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("to_address", String(MAX_MAIL_ADDRESS), nullable=False),
    Column("subject", Text, nullable=False, comment="one line: no CR or LF"),
    Column("body", Text, nullable=False, comment="plain text"),
    Column(
        "reason",
        String(64),
        nullable=False,
        comment="why it is sent: rule:<id>, alert:<kind>, report:<message id>...",
    ),
    stamped("created_at"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    stamped("next_attempt_at", "not before this time; the sender's claim order"),
    Column("sent_at", UtcDateTime(), comment="NULL: not sent yet"),
    Column("last_error", Text, comment="one line from the last failed attempt"),
    Column(
        "failed_at",
        UtcDateTime(),
        comment="NULL: still to be sent or sent; else given up after the last attempt",
    ),
    Index(
        "ix_outgoing_mail_pending",
        "next_attempt_at",
        postgresql_where=text("sent_at IS NULL"),
        sqlite_where=text("sent_at IS NULL"),
    ),
)


class SuppressionKind(StrEnum):
    OPT_OUT = "opt_out"
    """The number asked not to be sent to (STOP by SMS, or added for it): never sent to."""
    BLOCK = "block"
    """Never sent to, unless an allow entry matches too."""
    ALLOW = "allow"
    """An exception to the block list (an allowed number inside a blocked prefix)."""


suppressions = Table(
    "suppressions",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, comment="E.164 number, or a prefix such as +5511"),
    Column("kind", String(16), nullable=False),
    Column(
        "prefix",
        Boolean,
        nullable=False,
        server_default=false(),
        comment="true: every number starting with it",
    ),
    Column("source", String(16), nullable=False, comment="sms, api, page, import, rule"),
    Column("note", Text),
    stamped("created_at"),
    Column("created_by", String(100), nullable=False),
    one_of("kind", SuppressionKind, "kind"),
    UniqueConstraint("number", "kind", "prefix"),
)

rules = Table(
    "rules",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("position", Integer, nullable=False, comment="evaluation order, lowest first"),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("match", JSON, nullable=False, comment="keyword, regex, from, modem, time window"),
    Column("actions", JSON, nullable=False, comment="list of {type, ...}"),
    Column("stop", Boolean, nullable=False, server_default=false()),
    stamped("created_at"),
    stamped("updated_at"),
    Column("matched", Integer, nullable=False, server_default="0"),
    Column("last_matched_at", UtcDateTime()),
    Column("last_error", Text, comment="one line: the last action that could not be done"),
    Index(None, "position"),
)

rule_replies = Table(
    "rule_replies",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("sender", String(32), nullable=False, comment="who was answered (E.164)"),
    Column("rule_id", RowId, nullable=False),
    Column("text", Text, nullable=False),
    stamped("at"),
    Index(None, "sender", "at"),
)

incoming_tags = Table(
    "incoming_tags",
    metadata,
    Column(
        "message_id",
        RowId,
        ForeignKey("incoming_messages.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag", String(64), primary_key=True),
)

recurring_sends = Table(
    "recurring_sends",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("text", Text, nullable=False),
    Column("recipients", JSON, nullable=False, comment="numbers as given"),
    Column("group_ids", JSON, nullable=False, comment="contact group ids"),
    Column("schedule", JSON, nullable=False, comment="{every, at, weekdays, day, cron}"),
    Column("tz", String(64), nullable=False),
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("next_run_at", UtcDateTime(), comment="NULL: paused or no run left"),
    Column("last_run_at", UtcDateTime()),
    Column("created_by", String(100), nullable=False),
    stamped("created_at"),
    stamped("updated_at"),
    Index(None, "next_run_at"),
)

recurring_runs = Table(
    "recurring_runs",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column(
        "recurring_id", RowId, ForeignKey("recurring_sends.id", ondelete="CASCADE"), nullable=False
    ),
    Column("scheduled_for", UtcDateTime(), nullable=False),
    stamped("ran_at"),
    Column("queued", Integer, nullable=False),
    Column("refused", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    UniqueConstraint("recurring_id", "scheduled_for"),
)


class AlertKind(StrEnum):
    MODEM_OFFLINE = "modem_offline"
    """An enabled modem is not online (offline, quarantined, no network...)."""
    MESSAGE_FAILED = "message_failed"
    """Messages failed: at least the threshold within the window."""
    LOW_CREDIT = "low_credit"
    """A SIM's credit is below its modem's ``low_balance``."""
    QUEUE_STUCK = "queue_stuck"
    """Due messages wait and nothing leaves the queue."""
    DISK_FULL = "disk_full"
    """The data directory's file system is fuller than the threshold."""


alert_states = Table(
    "alert_states",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("subject", String(200), nullable=False, comment="modem name, host:path, queue"),
    Column("active", Boolean, nullable=False, server_default=false()),
    Column("pending_since", UtcDateTime(), comment="its condition holds since; NULL: it does not"),
    Column("raised_at", UtcDateTime(), comment="when it was last raised"),
    Column("cleared_at", UtcDateTime(), comment="when it was last cleared"),
    Column("notified_at", UtcDateTime(), comment="last raise or repeat sent by mail or webhook"),
    Column("text", Text, nullable=False, server_default="", comment="what it says, in English"),
    Column("detail", JSON, comment="the figures the text is made of"),
    Column("version", Integer, nullable=False, server_default="0", comment="compare-and-set"),
    stamped("updated_at"),
    one_of("kind", AlertKind, "kind"),
    UniqueConstraint("kind", "subject"),
)

alert_history = Table(
    "alert_history",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("event", String(16), nullable=False, comment="raised, repeated, cleared"),
    stamped("at"),
    Column("text", Text, nullable=False),
    Column("detail", JSON),
    Column("notified", JSON, nullable=False, comment="channels notified: email, webhook"),
    Index(None, "at"),
)

__all__ = [
    "MAX_MAIL_ADDRESS",
    "AlertKind",
    "SuppressionKind",
    "alert_history",
    "alert_states",
    "incoming_tags",
    "outgoing_mail",
    "recurring_runs",
    "recurring_sends",
    "rule_replies",
    "rules",
    "suppressions",
]
