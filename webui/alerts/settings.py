"""What an admin chooses about alerts, kept as the ``alerts`` row of ``web_settings``: where
they go (``email_to`` addresses, one ``webhook_url``) and, for each kind, whether it is on, its
threshold, its quiet period and its channels.

Thresholds by kind: ``modem_offline`` seconds a modem has not been online, ``message_failed``
failures within ``window`` seconds (1: every failure), ``queue_stuck`` seconds due messages wait
while nothing leaves the queue, ``disk_full`` percent of the file system used; ``low_credit``
has none (each modem's ``low_balance`` is the threshold). ``quiet`` is the number of seconds
within which the same alert for the same subject is not sent again.

:func:`parse_settings` checks a whole document (a JSON object as the API and the page give it)
and refuses absurd values with :class:`~webui.services.errors.Invalid` naming the field
(``kinds.disk_full.threshold``). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gatewayd.store import AlertKind
from webui.services.errors import Invalid
from webui.services.mail_outbox import mail_address

SETTING_NAME = "alerts"
CHANNELS = ("email", "webhook")
MAX_ADDRESSES = 10
QUIET_MAX = 30 * 86400
WINDOW_RANGE = (60, 7 * 86400)
CODE = "invalid_alert_settings"


@dataclass(frozen=True)
class Threshold:
    """A kind's threshold: its unit, default and accepted range (inclusive)."""

    unit: str
    default: int
    low: int
    high: int


THRESHOLDS: dict[AlertKind, Threshold | None] = {
    AlertKind.MODEM_OFFLINE: Threshold("seconds", 300, 10, 7 * 86400),
    AlertKind.MESSAGE_FAILED: Threshold("messages", 1, 1, 10_000),
    AlertKind.LOW_CREDIT: None,
    AlertKind.QUEUE_STUCK: Threshold("seconds", 300, 30, 7 * 86400),
    AlertKind.DISK_FULL: Threshold("percent", 90, 1, 99),
}
DEFAULT_QUIET: dict[AlertKind, int] = {
    AlertKind.MODEM_OFFLINE: 3600,
    AlertKind.MESSAGE_FAILED: 3600,
    AlertKind.LOW_CREDIT: 86400,
    AlertKind.QUEUE_STUCK: 3600,
    AlertKind.DISK_FULL: 86400,
}
DEFAULT_WINDOW = 3600


@dataclass(frozen=True)
class KindSettings:
    enabled: bool
    threshold: int | None
    quiet: int
    channels: tuple[str, ...]
    window: int | None = None
    """``message_failed`` only: the failures counted are those of the last ``window`` s."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "enabled": self.enabled,
            "threshold": self.threshold,
            "quiet": self.quiet,
            "channels": list(self.channels),
        }
        if self.window is not None:
            data["window"] = self.window
        return data


def default_kind(kind: AlertKind) -> KindSettings:
    spec = THRESHOLDS[kind]
    return KindSettings(
        enabled=True,
        threshold=spec.default if spec else None,
        quiet=DEFAULT_QUIET[kind],
        channels=CHANNELS,
        window=DEFAULT_WINDOW if kind is AlertKind.MESSAGE_FAILED else None,
    )


@dataclass(frozen=True)
class AlertSettings:
    email_to: tuple[str, ...] = ()
    webhook_url: str | None = None
    kinds: dict[AlertKind, KindSettings] = field(
        default_factory=lambda: {kind: default_kind(kind) for kind in AlertKind}
    )

    def to_json(self) -> dict[str, Any]:
        return {
            "email_to": list(self.email_to),
            "webhook_url": self.webhook_url,
            "kinds": {kind.value: self.kinds[kind].to_json() for kind in AlertKind},
        }


def _integer(value: Any, where: str, low: int, high: int, unit: str) -> int:
    if type(value) is not int or not low <= value <= high:
        raise Invalid(CODE, f"{where} is a whole number of {unit} from {low} to {high}", where)
    return value


def _or_default(data: dict[str, Any], key: str, default: int) -> Any:
    """``data[key]``, or ``default`` when it is left out or null."""
    value = data.get(key)
    return default if value is None else value


def _kind(kind: AlertKind, data: Any) -> KindSettings:
    where = f"kinds.{kind.value}"
    if data is None:
        return default_kind(kind)
    if not isinstance(data, dict):
        raise Invalid(CODE, f"{where} is an object", where)
    known = {"enabled", "threshold", "quiet", "channels"}
    if kind is AlertKind.MESSAGE_FAILED:
        known.add("window")
    unknown = sorted(set(data) - known)
    if unknown:
        raise Invalid(CODE, f"{where} has no field {unknown[0]!r}", f"{where}.{unknown[0]}")
    default = default_kind(kind)
    enabled = data.get("enabled", True)
    if type(enabled) is not bool:
        raise Invalid(CODE, f"{where}.enabled is true or false", f"{where}.enabled")
    spec = THRESHOLDS[kind]
    threshold: int | None = None
    if spec is None:
        if data.get("threshold") is not None:
            raise Invalid(
                CODE,
                f"{where}.threshold is not set here: each modem's low_balance is its threshold",
                f"{where}.threshold",
            )
    else:
        threshold = _integer(
            _or_default(data, "threshold", spec.default),
            f"{where}.threshold",
            spec.low,
            spec.high,
            spec.unit,
        )
    quiet = _integer(data.get("quiet", default.quiet), f"{where}.quiet", 0, QUIET_MAX, "seconds")
    window = None
    if kind is AlertKind.MESSAGE_FAILED:
        window = _integer(
            _or_default(data, "window", DEFAULT_WINDOW),
            f"{where}.window",
            *WINDOW_RANGE,
            "seconds",
        )
    channels = data.get("channels", list(CHANNELS))
    if (
        not isinstance(channels, list)
        or len(channels) > len(CHANNELS)
        or any(channel not in CHANNELS for channel in channels)
    ):
        raise Invalid(
            CODE, f"{where}.channels is a list of {', '.join(CHANNELS)}", f"{where}.channels"
        )
    ordered = tuple(channel for channel in CHANNELS if channel in channels)
    return KindSettings(enabled, threshold, quiet, ordered, window)


def parse_settings(data: Any) -> AlertSettings:
    """A whole settings document checked (kinds left out get their defaults); the webhook
    URL's host is checked apart (:mod:`webui.webhooks.urls`), as it needs a resolver."""
    if not isinstance(data, dict):
        raise Invalid(CODE, "the alert settings are a JSON object", None)
    unknown = sorted(set(data) - {"email_to", "webhook_url", "kinds"})
    if unknown:
        raise Invalid(CODE, f"no field {unknown[0]!r}", unknown[0])
    addresses = data.get("email_to") or []
    if not isinstance(addresses, list) or len(addresses) > MAX_ADDRESSES:
        raise Invalid(CODE, f"email_to is a list of at most {MAX_ADDRESSES} addresses", "email_to")
    checked: list[str] = []
    for address in addresses:
        if not isinstance(address, str):
            raise Invalid(CODE, "email_to holds addresses", "email_to")
        try:
            checked.append(mail_address(address))
        except Invalid as exc:
            raise Invalid("invalid_email", exc.message, "email_to") from None
    url = data.get("webhook_url")
    if url is not None and not isinstance(url, str):
        raise Invalid(CODE, "webhook_url is a URL or null", "webhook_url")
    kinds_data = data.get("kinds") or {}
    if not isinstance(kinds_data, dict):
        raise Invalid(CODE, "kinds is an object of alert kinds", "kinds")
    names = {kind.value for kind in AlertKind}
    strange = sorted(set(kinds_data) - names)
    if strange:
        raise Invalid(
            CODE, f"no alert kind {strange[0][:40]!r}; kinds: {', '.join(sorted(names))}", "kinds"
        )
    kinds = {kind: _kind(kind, kinds_data.get(kind.value)) for kind in AlertKind}
    return AlertSettings(
        email_to=tuple(dict.fromkeys(checked)),
        webhook_url=(url.strip() or None) if url else None,
        kinds=kinds,
    )


def stored_settings(value: Any) -> AlertSettings:
    """The settings as stored; defaults when none are (or a stored row no longer reads)."""
    if value is None:
        return AlertSettings()
    try:
        return parse_settings(value)
    except Invalid:
        return AlertSettings()
