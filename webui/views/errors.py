"""Error codes of the services, the queue and the API helpers, as translated sentences for the
pages. A refused number reads as :data:`webui.services.numbers.NUMBER_PROBLEMS` says (the API
sends the same sentence in English). Unknown codes fall back to the original (English)
message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webui.i18n import N_, gettext
from webui.services.numbers import NUMBER_PROBLEMS

MESSAGES = {
    "invalid_number": N_("A recipient number is not valid."),
    "invalid_recipients": N_("Some recipients are not valid phone numbers."),
    "no_recipients": N_("Choose at least one recipient."),
    "too_many_recipients": N_("Too many recipients in one go (at most 5,000)."),
    "empty_text": N_("The text is empty."),
    "text_too_long": N_("The text is too long: at most 255 parts can be sent."),
    "invalid_text": N_("The text contains characters that cannot be sent."),
    "unknown_modem": N_("There is no modem with that name."),
    "invalid_send_at": N_("The scheduled time is not valid or more than a year ahead."),
    "send_at_in_past": N_("The scheduled time is in the past: leave it empty to send now."),
    "invalid_priority": N_("The priority must be from -100 to 100."),
    "too_late": N_("Only queued messages can be cancelled."),
    "not_found": N_("Not found."),
    "timeout": N_("The modem did not answer in time."),
    "unavailable": N_("The gateway is not reachable right now."),
    "missing_name": N_("Give the contact a name."),
    "missing_group_name": N_("Give the group a name."),
    "incomplete_template": N_("A template needs a name and a text."),
    "already_exists": N_("That name or number is already in the address book."),
    "duplicate": N_("This number is on an earlier row too."),
    "invalid_csv": N_("The file must be a CSV saved as UTF-8."),
    "empty_csv": N_("The file has no rows."),
    "file_too_large": N_("The file is too large (at most 1 MiB)."),
    "too_many_rows": N_("Too many rows (at most 5,000 contacts per file)."),
    "invalid_value": N_("A value is not valid."),
}


def number_sentence(number: str, reason: str) -> str:
    """The translated sentence for a refused number (see ``NUMBER_PROBLEMS``)."""
    template = NUMBER_PROBLEMS.get(reason, NUMBER_PROBLEMS["invalid"])
    return gettext(template) % {"number": number.strip()[:64]}


def translated_error(code: str, fallback: str, detail: Mapping[str, Any] | None = None) -> str:
    """The page's sentence for a refusal ``code`` (``detail``: the refusal's detail, which
    names a refused number and why, or the kind of row a name is missing from)."""
    detail = detail or {}
    if code == "invalid_number" and isinstance(detail.get("to"), str):
        return number_sentence(detail["to"], str(detail.get("reason") or "invalid"))
    if code == "missing_name" and detail.get("what") == "group":
        code = "missing_group_name"
    message = MESSAGES.get(code)
    return gettext(message) if message is not None else fallback


def problem_sentence(problem: Mapping[str, Any]) -> str:
    """One refused recipient or row of a list, in the page's language."""
    if problem.get("code") == "invalid_number" and isinstance(problem.get("to"), str):
        return number_sentence(problem["to"], str(problem.get("reason") or "invalid"))
    return translated_error(str(problem.get("code")), str(problem.get("message", "")), problem)
