"""Request and response models of the API (pydantic v2).

The same classes validate requests and generate the OpenAPI document's schemas, so the
document cannot drift from what the server accepts. Requests are strict (no type coercion)
and refuse unknown fields.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
)

from gatewayd.queue.enqueue import MAX_TEXT_LENGTH
from webui.api.patterns import (
    CIDR,
    CRON,
    HH_MM,
    KEYWORD,
    NOT_BLANK,
    NUMBER_OR_PREFIX,
    TIME_ZONE,
    whole,
)
from webui.services import account_admin
from webui.services.mail_outbox import ADDRESS_PATTERN
from webui.services.sending import MAX_RECIPIENTS

MessageStatusName = Literal[
    "queued", "sending", "sent", "delivered", "failed", "expired", "cancelled", "unknown"
]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH)]
Recipient = Annotated[str, Field(min_length=1, max_length=64, examples=["+5511987654321"])]


NO_NUL = r"^[^\x00]*$"
"""Text the database stores holds no NUL character (refused as the schema says)."""


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _integral(value: Any) -> Any:
    """``5.0`` as ``5``: JSON Schema's integer is any number without a fraction, and strict
    validation would refuse it; anything else is left for the validation to judge."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


INTEGRAL = BeforeValidator(_integral)
"""After the bounds (``Annotated[int, Field(ge=..., le=...), INTEGRAL]``): a whole number,
``5`` or ``5.0``, never ``"5"`` or ``true``."""


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent() -> Any:
    """The default of a field that may be left out but not sent as null: None when left out
    (handlers read requests with ``exclude_unset``), while a null sent is refused, and the
    document shows no default."""
    return Field(None, json_schema_extra=_no_default)


def stored(low: int, high: int) -> Any:
    """A text the database stores: no NUL character."""
    return Field(min_length=low, max_length=high, pattern=NO_NUL)


class SendRequest(Request):
    """One message, or the same text to a list of recipients (up to 10,000)."""

    to: Recipient | Annotated[list[Recipient], Field(min_length=1, max_length=MAX_RECIPIENTS)]
    text: Text
    priority: Annotated[int, Field(ge=-100, le=100), INTEGRAL] = 0
    send_at: AwareDatetime | None = Field(
        None, description="not before this time; ISO 8601 with a UTC offset"
    )
    flash: bool = False
    status_report: bool = True
    modem: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    callback_url: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        None,
        description="webhook URL for this message's status events: http(s), no "
        "credentials, a public address or one listed in [web] webhook_allow",
    )
    validity_minutes: Annotated[int, Field(ge=5, le=63 * 7 * 24 * 60), INTEGRAL] | None = None
    skip_invalid: bool = Field(
        False,
        description="with a list: queue the valid recipients and report the others, "
        "instead of refusing the whole request",
    )


class UssdRequest(Request):
    code: Annotated[str, Field(pattern=r"^[0-9*#+]{1,40}$", examples=["*100#"])]


class ApiKeyCreate(Request):
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)]
    role: Literal["operator", "viewer"]
    webhook_url: Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL)] | None = None
    account_id: Annotated[int, Field(ge=1, le=2**63 - 1), INTEGRAL] | None = Field(
        None, description="the client account it sends as; omitted: the account 'default'"
    )


class ApiKeyUpdate(Request):
    webhook_url: Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL)] | None = None
    rotate_webhook_secret: bool = False


Cidr = Annotated[
    str, Field(max_length=64, pattern=CIDR, examples=["192.168.10.0/24", "2001:db8::/32"])
]
ModemName = Annotated[
    str, Field(min_length=1, max_length=32, pattern=whole(account_admin.MODEM.pattern))
]
Names = Annotated[list[ModemName], Field(max_length=account_admin.MAX_LIST)]
AccountName = Annotated[
    str, Field(min_length=1, max_length=64, pattern=whole(account_admin.NAME.pattern))
]


class AccountFields(Request):
    system_id: Annotated[str, Field(pattern=whole(account_admin.SYSTEM_ID.pattern))] | None = Field(
        None, description="SMPP system_id: printable ASCII, no spaces (null: no SMPP access)"
    )
    smpp_password: (
        Annotated[str, Field(pattern=whole(account_admin.SMPP_PASSWORD.pattern))] | None
    ) = Field(
        None,
        description="sets the SMPP password: 1 to 8 printable ASCII characters (SMPP 3.4); "
        "never shown again; null leaves it as it is",
    )
    tps: Annotated[float, Field(ge=0.001, le=account_admin.MAX_TPS)] | None = Field(
        None, description="messages per second at most, across processes; null: unlimited"
    )
    daily_quota: Annotated[int, Field(ge=0, le=account_admin.MAX_QUOTA), INTEGRAL] | None = Field(
        None, description="messages per UTC day; null: unlimited"
    )
    monthly_quota: Annotated[int, Field(ge=0, le=account_admin.MAX_QUOTA), INTEGRAL] | None = Field(
        None, description="messages per UTC month; null: unlimited"
    )
    allowed_networks: Annotated[list[Cidr], Field(max_length=account_admin.MAX_LIST)] = Field(
        default_factory=list,
        description="client networks it may be used from, IPv4 or IPv6, with or without a "
        "prefix length (host bits are dropped: 10.1.2.3/8 is 10.0.0.0/8); []: any",
    )
    allowed_modems: Names = Field(
        default_factory=list, description="modems its messages may leave by; []: any"
    )
    incoming_modems: Names = Field(
        default_factory=list,
        description="modems whose incoming SMS go to its SMPP receivers; []: none",
    )
    incoming_as_parts: bool = Field(
        False, description="deliver incoming long SMS as parts with UDH instead of reassembled"
    )
    webhook_url: Annotated[str, stored(0, 2000)] | None = Field(
        None,
        description="webhook of its API keys' messages for keys without one of their own: "
        "http(s), no credentials, a public address or one listed in [web] webhook_allow; "
        "null or empty: none",
    )


class AccountCreate(AccountFields):
    name: AccountName = Field(description="letters, digits and _ . @ - (no spaces)")


class AccountUpdate(AccountFields):
    """Only the fields sent change; null clears (a limit becomes unlimited)."""

    name: AccountName = absent()
    rotate_webhook_secret: bool = False


class UserCreate(Request):
    username: Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
    role: Literal["admin", "operator", "viewer"]
    password: Annotated[str, Field(min_length=10, max_length=1024, pattern=NO_NUL)] | None = Field(
        None, description="omitted: a password is generated and returned once"
    )


class UserUpdate(Request):
    role: Literal["admin", "operator", "viewer"] | None = None
    disabled: bool | None = None
    unlock: bool = False
    password: Annotated[str, Field(min_length=10, max_length=1024, pattern=NO_NUL)] | None = None


class PasswordChange(Request):
    current_password: Annotated[str, Field(min_length=1, max_length=1024, pattern=NO_NUL)]
    new_password: Annotated[str, Field(min_length=10, max_length=1024, pattern=NO_NUL)]


# ---- responses (documentation; handlers build plain dicts of these shapes) ----


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    problems: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class MessagePart(BaseModel):
    seq: int
    status: str
    mr: int | None
    modem: str | None
    sent_at: str | None
    delivered_at: str | None
    error: str | None


class TimelineEvent(BaseModel):
    at: str | None
    status: str
    part: int | None
    modem: str | None
    detail: str | None


class Message(BaseModel):
    kind: Literal["message"] = Field(
        description="always ``message``: tells a single answer from a batch (``batch``)"
    )
    id: int
    to: str
    text: str
    status: MessageStatusName
    encoding: str
    segments: int
    priority: int
    send_at: str | None
    flash: bool
    status_report: bool
    parts: list[MessagePart]
    modem: str | None
    created_at: str | None
    sent_at: str | None
    delivered_at: str | None
    error: str | None
    attempts: int
    created_by: str
    batch_id: int | None
    timeline: list[TimelineEvent] | None = None


class Problem(BaseModel):
    index: int
    to: str
    code: str
    message: str
    reason: str | None = Field(
        None,
        description="for invalid_number: empty, no_country_code, not_a_number or invalid",
    )


class MessageBatch(BaseModel):
    kind: Literal["batch"] = Field(description="always ``batch``")
    messages: list[Message]
    skipped: list[Problem] = []


class MessagePage(BaseModel):
    messages: list[Message]
    next_cursor: str | None


class InboxMessage(BaseModel):
    id: int
    from_: str = Field(alias="from")
    text: str
    modem: str
    received_at: str | None
    read: bool = Field(description="an operator has read it (opened its conversation)")


class InboxPage(BaseModel):
    messages: list[InboxMessage]
    next_cursor: str | None


class Modem(BaseModel):
    name: str
    state: str
    imei: str | None
    imsi: str | None
    operator: str | None
    signal: int | None
    registration: str | None
    queue_depth: int
    sent_today: int
    last_seen: str | None
    host: str | None


class GatewayHost(BaseModel):
    host: str
    state: Literal["running", "idle"]
    modems: list[str]
    seen_at: str | None


class ModemList(BaseModel):
    modems: list[Modem]
    gateways: list[GatewayHost]


class UssdAnswer(BaseModel):
    modem: str
    code: str
    text: str


class RestartAnswer(BaseModel):
    modem: str
    restarted: Literal[True]


class PasswordChanged(BaseModel):
    changed: Literal[True]
    sign_in_again: Literal[True]


class HealthChecks(BaseModel):
    model_config = ConfigDict(extra="allow")
    database: Literal["ok", "fail"]
    redis: Literal["ok", "fail", "disabled"]
    gateway: Literal["ok", "stale", "unknown"]
    modems: Literal["ok", "none", "not_online", "unknown"]
    queue: Literal["ok", "stuck", "unknown"]


class Health(BaseModel):
    status: Literal["ok", "degraded", "fail"]
    checks: HealthChecks
    details: dict[str, Any]


class ApiKey(BaseModel):
    id: int
    name: str
    prefix: str
    role: str
    created_at: str | None
    last_used_at: str | None
    revoked_at: str | None
    webhook_url: str | None
    account_id: int


class ApiKeyCreated(ApiKey):
    key: str
    webhook_secret: str


class ApiKeyList(BaseModel):
    api_keys: list[ApiKey]


class AccountUsage(BaseModel):
    today: int
    this_month: int


class Account(BaseModel):
    id: int
    name: str
    system_id: str | None
    smpp_enabled: bool
    tps: float | None
    daily_quota: int | None
    monthly_quota: int | None
    allowed_networks: list[str]
    allowed_modems: list[str]
    incoming_modems: list[str]
    incoming_as_parts: bool
    webhook_url: str | None
    created_at: str | None
    created_by: str
    revoked_at: str | None
    usage: AccountUsage | None = Field(
        description="messages counted this UTC day and month; null: the account has no quota "
        "(only accounts with a quota are counted)"
    )


class AccountCreated(Account):
    webhook_secret: str = Field(description="signs its webhook deliveries; shown once")


class AccountList(BaseModel):
    accounts: list[Account]


class User(BaseModel):
    id: int
    username: str
    role: str
    created_at: str | None
    last_login_at: str | None
    locked_until: str | None
    disabled: bool
    must_change_password: bool
    two_factor: bool = False


class UserCreated(User):
    password: str | None


class UserList(BaseModel):
    users: list[User]


class AuditEntry(BaseModel):
    id: int
    at: str | None
    actor: str
    action: str
    target: str | None
    detail: Any
    client_address: str | None


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_cursor: str | None


class WebhookDelivery(BaseModel):
    id: int
    event: str
    url: str
    status: str
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    response_status: int | None
    created_at: str | None
    delivered_at: str | None
    message_id: int | None
    api_key_id: int | None
    payload: Any


class WebhookDeliveryPage(BaseModel):
    deliveries: list[WebhookDelivery]
    next_cursor: str | None


class Me(BaseModel):
    kind: Literal["user", "api_key"]
    id: int
    name: str
    role: str
    csrf_token: str | None


class Metrics(BaseModel):
    """Counts are null while the database is down (``database_up`` false)."""

    model_config = ConfigDict(extra="allow")
    database_up: bool
    queue: dict[str, int | None]
    messages: dict[str, int | None]
    last_24h: dict[str, int | None]
    delivery_rate: float | None
    requests: dict[str, Any]
    availability: dict[str, Any]
    database: dict[str, Any]
    modems: list[dict[str, Any]]
    hosts: list[dict[str, Any]] = []
    """Each gatewayd host's lease: ``host``, ``state``, ``alive``, ``epoch``, ``modems``,
    ``renewed_at``, ``renewed_seconds_ago``, ``expires_in_seconds``, ``in_flight_parts``,
    ``waiting_messages``, ``takeovers``, ``last_takeover``."""


SuppressionKindName = Literal["opt_out", "block", "allow"]


class OptOutCreate(Request):
    """A number (or, for block and allow entries, a prefix) to put on a list."""

    model_config = ConfigDict(
        json_schema_extra={
            # A prefix is + and 1 to 15 digits, and only block and allow entries are prefixes.
            "if": {"properties": {"prefix": {"const": True}}, "required": ["prefix"]},
            "then": {
                "properties": {
                    "kind": {"enum": ["block", "allow"]},
                    "number": {"pattern": r"^\s*\+ *(?:[0-9] *){1,15}\s*$"},
                },
                "required": ["kind"],
            },
        }
    )

    number: Annotated[str, Field(min_length=1, max_length=32, examples=["+5511987654321"])]
    kind: SuppressionKindName = Field(
        "opt_out", description="opt_out: never sent to; block: refused unless allowed; allow"
    )
    prefix: bool = Field(
        False, description="every number starting with it: + and 1 to 15 digits (block and allow)"
    )
    note: Annotated[str, stored(0, 200)] | None = None


class OptOut(BaseModel):
    number: str
    kind: SuppressionKindName
    prefix: bool
    source: str = Field(description="sms, api, page, import")
    note: str | None
    created_at: str
    created_by: str


class OptOutList(BaseModel):
    entries: list[OptOut]
    total: int = Field(description="entries matching the filter")


class OptOutRemoved(BaseModel):
    number: str = Field(description="as given")
    kind: SuppressionKindName
    removed: Literal[True]


RuleText = Annotated[str, stored(0, 1000)]
"""A template: {from}, {text}, {rest}, {keyword}, {modem}, {received_at} and {id} are filled."""
GroupId = Annotated[int, Field(ge=1, le=2**63 - 1), INTEGRAL]
Weekday = Annotated[int, Field(ge=1, le=7), INTEGRAL]
"""1 Monday ... 7 Sunday."""


class TimeWindowWrite(Request):
    """Both ``start`` and ``end`` (a window past midnight allowed), or neither."""

    model_config = ConfigDict(
        json_schema_extra={"dependentRequired": {"start": ["end"], "end": ["start"]}}
    )

    start: Annotated[str, Field(pattern=HH_MM, examples=["08:00"])] = absent()
    end: Annotated[str, Field(pattern=HH_MM, examples=["18:00"])] = absent()
    weekdays: Annotated[list[Weekday], Field(max_length=7)] = Field(
        default_factory=list, description="1 Monday ... 7 Sunday; []: every day"
    )
    tz: Annotated[str, Field(max_length=63, pattern=TIME_ZONE)] = Field(
        "UTC", description="an IANA time zone", examples=["America/Sao_Paulo"]
    )


class RuleMatch(Request):
    """Every condition given must hold; an empty one holds always."""

    keyword: Annotated[str, Field(max_length=64, pattern=KEYWORD)] | None = Field(
        None, description="the first word, case and accents ignored"
    )
    regex: Annotated[str, stored(0, 500)] | None = Field(
        None, description="searched case-insensitively, time-bounded"
    )
    from_: Annotated[str, Field(pattern=NUMBER_OR_PREFIX)] | None = Field(
        None, alias="from", description="a number or a prefix"
    )
    modem: Annotated[str, stored(0, 32)] | None = None
    time: TimeWindowWrite | None = None


class ReplyAction(Request):
    type: Literal["reply"]
    text: Annotated[str, stored(1, 1000)]


class ForwardSmsAction(Request):
    """To numbers, the members of a group, or both."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["to"], "properties": {"to": {"type": "array", "minItems": 1}}},
                {"required": ["group_id"], "properties": {"group_id": {"type": "integer"}}},
            ]
        }
    )

    type: Literal["forward_sms"]
    to: (
        Annotated[list[Annotated[str, Field(min_length=1, max_length=32)]], Field(max_length=100)]
        | None
    ) = None
    group_id: GroupId | None = None
    text: RuleText | None = Field(None, description="default: {from}: {text}")


class ForwardEmailAction(Request):
    type: Literal["forward_email"]
    to: Annotated[str, stored(1, 320)]
    subject: RuleText | None = None
    body: RuleText | None = None


class WebhookAction(Request):
    type: Literal["webhook"]
    url: Annotated[str, stored(1, 2000)] = Field(
        description="http(s), no credentials, a public address or one in [web] webhook_allow"
    )


class AddToGroupAction(Request):
    type: Literal["add_to_group"]
    group_id: GroupId


class RemoveFromGroupAction(Request):
    type: Literal["remove_from_group"]
    group_id: GroupId


class TagAction(Request):
    type: Literal["tag"]
    tag: Annotated[str, stored(1, 64)]


RuleAction = Annotated[
    ReplyAction
    | ForwardSmsAction
    | ForwardEmailAction
    | WebhookAction
    | AddToGroupAction
    | RemoveFromGroupAction
    | TagAction,
    Field(discriminator="type"),
]


class RuleWrite(Request):
    """A rule and what it does when it matches, in order. Texts take {from}, {text}, {rest},
    {keyword}, {modem}, {received_at} and {id}."""

    name: Annotated[str, stored(1, 100)]
    enabled: bool = True
    match: RuleMatch | None = None
    actions: Annotated[list[RuleAction], Field(min_length=1, max_length=10)]
    stop: bool = False
    position: Annotated[int, Field(ge=0, le=2**31 - 1), INTEGRAL] | None = Field(
        None, description="rules run in position order; null: after the last one"
    )


class Rule(BaseModel):
    id: int
    name: str
    position: int
    enabled: bool
    match: dict[str, Any]
    actions: list[dict[str, Any]]
    stop: bool
    matched: int = Field(description="messages it matched")
    last_matched_at: str | None
    last_error: str | None = Field(description="the last action that could not be done")
    created_at: str
    updated_at: str


class RuleList(BaseModel):
    rules: list[Rule]


class RuleTest(Request):
    text: Annotated[str, Field(max_length=2000)]
    from_: Annotated[str, Field(min_length=1, max_length=32)] = Field(
        "+5511987654321", alias="from"
    )
    modem: Annotated[str, Field(max_length=32)] = ""
    at: AwareDatetime | None = None


class RuleTestResult(BaseModel):
    matched: list[dict[str, Any]] = Field(description="rules that match, in order, with actions")
    replyable: bool = Field(description="whether replies may go to this sender")


class RuleDeleted(BaseModel):
    id: int
    deleted: Literal[True]


class DailySchedule(Request):
    every: Literal["day"]
    at: Annotated[str, Field(pattern=HH_MM, examples=["09:30"])]


class WeeklySchedule(Request):
    every: Literal["week"]
    at: Annotated[str, Field(pattern=HH_MM, examples=["09:30"])]
    weekdays: Annotated[list[Weekday], Field(min_length=1, max_length=7)] = Field(
        description="1 Monday ... 7 Sunday"
    )


class MonthlySchedule(Request):
    every: Literal["month"]
    at: Annotated[str, Field(pattern=HH_MM, examples=["09:30"])]
    day: Annotated[int, Field(ge=1, le=31), INTEGRAL] = Field(
        description="a month without this day runs on its last day"
    )


class CronSchedule(Request):
    cron: Annotated[str, Field(max_length=100, pattern=CRON, examples=["*/15 8-18 * * 1-5"])] = (
        Field(description="minute hour day month weekday (0 and 7: Sunday), as cron reads them")
    )


def _schedule_kind(value: Any) -> str | None:
    """Which schedule ``value`` is: ``cron`` when it has one, else its ``every``."""
    if isinstance(value, dict):
        every = value.get("every")
        return "cron" if "cron" in value else every if isinstance(every, str) else None
    return "cron" if isinstance(value, CronSchedule) else getattr(value, "every", None)


Schedule = Annotated[
    Annotated[DailySchedule, Tag("day")]
    | Annotated[WeeklySchedule, Tag("week")]
    | Annotated[MonthlySchedule, Tag("month")]
    | Annotated[CronSchedule, Tag("cron")],
    Discriminator(
        _schedule_kind,
        custom_error_type="invalid_schedule",
        custom_error_message='every is "day", "week" or "month", or give cron',
    ),
]


class RecurringWrite(Request):
    """A message sent on a schedule, at wall-clock times in ``tz``; to numbers, groups or
    both."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["to"], "properties": {"to": {"minItems": 1}}},
                {"required": ["group_ids"], "properties": {"group_ids": {"minItems": 1}}},
            ]
        }
    )

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK)]
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH, pattern=NOT_BLANK)]
    to: Annotated[list[Recipient], Field(max_length=1000)] = Field(default_factory=list)
    group_ids: Annotated[list[GroupId], Field(max_length=100)] = Field(default_factory=list)
    schedule: Schedule
    tz: Annotated[str, Field(max_length=63, pattern=TIME_ZONE)] = Field(
        "UTC", description="an IANA time zone", examples=["America/Sao_Paulo"]
    )
    paused: bool = False


class RecurringRun(BaseModel):
    scheduled_for: str
    ran_at: str
    queued: int
    refused: int = Field(description="recipients left out: invalid, opted out or blocked")
    error: str | None


class Recurring(BaseModel):
    id: int
    name: str
    text: str
    to: list[str]
    group_ids: list[int]
    schedule: dict[str, Any]
    tz: str
    paused: bool
    next_run_at: str | None
    next_runs: list[str] = Field(description="the next runs (preview), UTC")
    last_run_at: str | None
    history: list[RecurringRun] = Field(description="the last runs, newest first")
    created_by: str


class RecurringList(BaseModel):
    recurring: list[Recurring]


class RecurringDeleted(BaseModel):
    id: int
    deleted: Literal[True]


AlertChannel = Literal["email", "webhook"]
ALL_CHANNELS: tuple[AlertChannel, ...] = ("email", "webhook")


class AlertKindWrite(Request):
    """One kind of alert; fields left out (or null) keep their defaults."""

    enabled: bool = True
    quiet: Annotated[int, Field(ge=0, le=30 * 86400), INTEGRAL] = Field(
        3600, description="seconds within which the same alert is not sent again"
    )
    channels: Annotated[list[AlertChannel], Field(max_length=2)] = Field(
        default_factory=lambda: list(ALL_CHANNELS)
    )


class ModemOfflineWrite(AlertKindWrite):
    threshold: Annotated[int, Field(ge=10, le=7 * 86400), INTEGRAL] | None = Field(
        None, description="seconds an enabled modem is not online (default 300)"
    )


class MessageFailedWrite(AlertKindWrite):
    threshold: Annotated[int, Field(ge=1, le=10_000), INTEGRAL] | None = Field(
        None, description="failures within window (default 1: every failure)"
    )
    window: Annotated[int, Field(ge=60, le=7 * 86400), INTEGRAL] | None = Field(
        None, description="seconds of failures counted (default 3600)"
    )


class LowCreditWrite(AlertKindWrite):
    """No threshold: each modem's ``low_balance`` is its own."""

    threshold: None = None


class QueueStuckWrite(AlertKindWrite):
    threshold: Annotated[int, Field(ge=30, le=7 * 86400), INTEGRAL] | None = Field(
        None, description="seconds due messages are not moving (default 300)"
    )


class DiskFullWrite(AlertKindWrite):
    threshold: Annotated[int, Field(ge=1, le=99), INTEGRAL] | None = Field(
        None, description="percent of the data directory's filesystem in use (default 90)"
    )


class AlertKindsWrite(Request):
    modem_offline: ModemOfflineWrite | None = None
    message_failed: MessageFailedWrite | None = None
    low_credit: LowCreditWrite | None = None
    queue_stuck: QueueStuckWrite | None = None
    disk_full: DiskFullWrite | None = None


class AlertSettingsWrite(Request):
    """Where alerts go and, per kind, when; the whole document (kinds left out get their
    defaults)."""

    email_to: Annotated[
        list[Annotated[str, Field(min_length=3, max_length=320, pattern=ADDRESS_PATTERN)]],
        Field(max_length=10),
    ] = Field(default_factory=list)
    webhook_url: Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL)] | None = (
        Field(
            None,
            description="receives alert.raised and alert.cleared: http(s), no credentials, a "
            "public address or one listed in [web] webhook_allow",
        )
    )
    kinds: AlertKindsWrite = Field(default_factory=AlertKindsWrite)


class AlertKindSettings(BaseModel):
    enabled: bool
    threshold: int | None
    quiet: int
    channels: list[AlertChannel]
    window: int | None = None


class AlertSettings(BaseModel):
    email_to: list[str]
    webhook_url: str | None
    kinds: dict[str, AlertKindSettings]


AlertKindName = Literal["modem_offline", "message_failed", "low_credit", "queue_stuck", "disk_full"]


class ActiveAlert(BaseModel):
    kind: AlertKindName
    subject: str = Field(description="a modem's name, host:path of a disk, or queue/messages")
    text: str
    detail: dict[str, Any]
    raised_at: str | None
    notified_at: str | None


class AlertStep(BaseModel):
    kind: AlertKindName
    subject: str
    event: Literal["raised", "repeated", "cleared"]
    at: str
    text: str
    notified: list[AlertChannel]


class AlertList(BaseModel):
    active: list[ActiveAlert]
    recent: list[AlertStep] = Field(description="the last 50 steps, newest first")
