"""Human names for the codes pages show (message statuses, modem states, registrations, roles,
chart series), translated per request and also handed to the page scripts as JSON."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from babel.numbers import format_decimal, format_percent
from markupsafe import Markup, escape

from webui.i18n import N_, current_lang, gettext

LABELS = {
    # message and part statuses
    "queued": N_("queued"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "delivered": N_("delivered"),
    "failed": N_("failed"),
    "expired": N_("expired"),
    "cancelled": N_("cancelled"),
    "unknown": N_("unknown"),
    # modem states
    "online": N_("online"),
    "offline": N_("offline"),
    "initialising": N_("starting"),
    "no_network": N_("no network"),
    "error": N_("error"),
    "quarantined": N_("quarantined"),
    # alert kinds and channels
    "modem_offline": N_("Modem offline"),
    "message_failed": N_("Messages failed"),
    "low_credit": N_("SIM credit low"),
    "queue_stuck": N_("Queue not moving"),
    "disk_full": N_("Disk nearly full"),
    "email": N_("email"),
    "webhook": N_("webhook"),
    "repeated": N_("repeated"),
    "cleared": N_("cleared"),
    "raised": N_("raised"),
    # gatewayd host states
    "running": N_("running"),
    "idle": N_("idle"),
    "stopped": N_("stopped"),
    "taken_over": N_("taken over"),
    "lease_expired": N_("lease expired"),
    # registrations
    "home": N_("home network"),
    "roaming": N_("roaming"),
    "searching": N_("searching"),
    "denied": N_("denied"),
    "not_registered": N_("not registered"),
    # suppression lists
    "opt_out": N_("opted out"),
    "block": N_("blocked"),
    "allow": N_("allowed"),
    # roles
    "admin": N_("admin"),
    "operator": N_("operator"),
    "viewer": N_("viewer"),
    # webhook deliveries
    "pending": N_("pending"),
    "report": N_("delivery report"),
    "submitted": N_("handed to the modem"),
    "retry": N_("retry"),
    "resolved": N_("settled by the network's report"),
    # chart series
    "received": N_("received"),
    "series_sent": N_("Sent"),
    "series_delivered": N_("Delivered"),
    "series_failed": N_("Failed"),
    "series_received": N_("Received"),
    # live connection
    "live": N_("live"),
    "reconnecting": N_("reconnecting…"),
    "just now": N_("just now"),
    "new message from": N_("New message from"),
    "units": N_("characters"),
    "parts": N_("parts"),
    "part": N_("part"),
    "left": N_("left in this part"),
    "too long": N_("Too long: at most 255 parts."),
}


AUDIT_ACTIONS = {
    "login": N_("Signed in"),
    "login.failed": N_("Sign-in refused"),
    "logout": N_("Signed out"),
    "message.send": N_("Messages queued"),
    "message.cancel": N_("Message cancelled"),
    "message.resolved": N_("Unknown part settled by its delivery report"),
    "host.taken_over": N_("Work of a host whose lease expired taken over"),
    "user.create": N_("User created"),
    "user.update": N_("User changed"),
    "user.role": N_("Role changed"),
    "user.lock": N_("User locked"),
    "user.unlock": N_("User unlocked"),
    "user.password": N_("Password changed"),
    "user.password.failed": N_("Password change refused"),
    "user.password_reset": N_("Password reset"),
    "api_key.create": N_("API key created"),
    "api_key.revoke": N_("API key revoked"),
    "api_key.webhook": N_("Webhook changed"),
    "webhook.replay": N_("Webhook delivery replayed"),
    "modem.ussd": N_("USSD sent"),
    "modem.restart": N_("Modem restarted"),
    "contact.create": N_("Contact added"),
    "contact.delete": N_("Contact deleted"),
    "group.save": N_("Group saved"),
    "group.delete": N_("Group deleted"),
    "template.create": N_("Template added"),
    "template.delete": N_("Template deleted"),
    "message.resend": N_("Messages sent again"),
    "message.delete": N_("Messages deleted"),
    "contact.update": N_("Contact changed"),
    "contact.import": N_("Contacts imported"),
    "inbox.delete": N_("Received messages deleted"),
    "settings.default_region": N_("Default country changed"),
    "settings.sim_plan": N_("SIM plan changed"),
    "settings.require_admin_two_factor": N_("Two-factor rule for admins changed"),
    "user.two_factor.enable": N_("Two-factor sign-in turned on"),
    "user.two_factor.enable.failed": N_("Two-factor set-up refused"),
    "user.two_factor.reset": N_("Two-factor sign-in reset"),
    "user.rename": N_("User renamed"),
    "kannel.dlr": N_("Kannel delivery report"),
    "alerts.settings": N_("Alert settings changed"),
}
"""Audit log actions as the audit page names them (the code stays visible beside)."""


def audit_action(code: str) -> str:
    message = AUDIT_ACTIONS.get(code)
    return gettext(message) if message is not None else code


def label(code: str | None) -> str:
    """The translated name of ``code``; timeline codes like ``report:delivered`` read as
    "delivery report: delivered"."""
    if code is None:
        return "—"
    head, colon, tail = code.partition(":")
    if colon and head in LABELS:
        return f"{label(head)}: {label(tail)}"
    message = LABELS.get(code)
    return gettext(message) if message is not None else code


def labels_json() -> dict[str, str]:
    return {code: gettext(message) for code, message in LABELS.items()}


NO_SIGNAL_STATES = frozenset({"offline", "error"})
"""States in which the last signal reading says nothing about the modem now."""


def signal_bars(dbm: int | None, state: str | None = None) -> int:
    """0 to 4 bars from a signal in dBm (None, or a modem offline or in error: no bars)."""
    if dbm is None or state in NO_SIGNAL_STATES:
        return 0
    for bars, floor in ((4, -73), (3, -83), (2, -93), (1, -105)):
        if dbm >= floor:
            return bars
    return 0


def time_tag(value: datetime | str | None, precise: bool = False) -> Markup:
    """A ``<time>`` element the page script shows in the browser's zone and language
    (``precise``: with seconds, as timelines need)."""
    if value is None or value == "":
        return Markup('<span class="muted">—</span>')
    moment = (
        datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    )
    iso = moment.isoformat()
    if precise:
        text = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
        return Markup('<time datetime="{}" data-precise>{}</time>').format(
            escape(iso), escape(text)
        )
    text = moment.strftime("%Y-%m-%d %H:%M UTC")
    return Markup('<time datetime="{}">{}</time>').format(escape(iso), escape(text))


WEBHOOK_ERRORS = {
    "timeout": N_("no answer within 10 s"),
    "connect_failed": N_("could not connect"),
    "refused_address": N_("address not allowed"),
    "invalid_url": N_("invalid URL"),
}


def webhook_error(code: str | None, response_status: int | None) -> str:
    """A delivery's last error in words: ``HTTP 501``, "no answer within 10 s"...; an error
    recorded in another form (an older version's exception text) is not shown as such."""
    if not code:
        return f"HTTP {response_status}" if response_status else ""
    if code.startswith("http_status_") and code[12:].isdigit():
        return f"HTTP {code[12:]}"
    message = WEBHOOK_ERRORS.get(code)
    return gettext(message) if message is not None else gettext("failed (see the server log)")


def url_breaks(url: str | None) -> Markup:
    """``url`` escaped, with line-break opportunities after ``/``, ``?`` and ``&`` only, so a
    long address wraps between its parts, never inside a word."""
    if not url:
        return Markup("")
    pieces = URL_BREAKS.split(url)
    return Markup("<wbr>").join(escape(piece) for piece in pieces if piece)


URL_BREAKS = re.compile(r"(?<=[/?&])(?!/)")


def percent(share: float | None) -> str:
    """A share (0..1) as a percentage in the page's language; "—" when there is none."""
    if share is None:
        return "—"
    return format_percent(share, "#,##0.#%", locale=current_lang().replace("-", "_"))


def count(value: int) -> str:
    return format_decimal(value, locale=current_lang().replace("-", "_"))


def template_globals() -> dict[str, Any]:
    return {
        "percent": percent,
        "count": count,
        "url_breaks": url_breaks,
        "webhook_error": webhook_error,
        "label": label,
        "labels_json": labels_json,
        "signal_bars": signal_bars,
        "time_tag": time_tag,
        "audit_action": audit_action,
    }
