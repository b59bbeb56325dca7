"""SMTP answers for the services' refusals (the email-to-SMS server's mapping, documented in
docs/automation.md): a temporary code where the same mail can pass later (limits, quotas),
a permanent one where it never will."""

from __future__ import annotations

from webui.services.errors import QuotaExceeded, ServiceError, Throttled

RECIPIENT_CODES = frozenset({"invalid_recipients", "invalid_number", "no_route", "invalid_to"})
POLICY_CODES = frozenset({"opted_out", "blocked", "modem_not_allowed", "network_not_allowed"})


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400]


def reply_for(error: ServiceError) -> str:
    message = _one_line(error.message)
    if isinstance(error, Throttled):
        return f"451 4.7.1 {message}"
    if isinstance(error, QuotaExceeded):
        return f"452 4.2.2 {message}"
    if error.code == "too_many_recipients":
        return f"452 4.5.3 {message}"
    problems = error.detail.get("problems") or []
    if problems and all(p.get("code") in POLICY_CODES for p in problems):
        return f"550 5.7.1 {problems[0]['code']}: {_one_line(str(problems[0]['message']))}"
    if error.code in POLICY_CODES:
        return f"550 5.7.1 {error.code}: {message}"
    if error.code in RECIPIENT_CODES or error.field == "to":
        return f"550 5.1.1 {error.code}: {message}"
    return f"554 5.6.0 {error.code}: {message}"
