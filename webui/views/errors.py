"""Error codes of the queue, the API helpers and the user/key modules, as translated sentences
for the pages. Unknown codes fall back to the original (English) message."""

from __future__ import annotations

from webui.i18n import N_, gettext

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
    "invalid_priority": N_("The priority must be from -100 to 100."),
    "too_late": N_("Only queued messages can be cancelled."),
    "not_found": N_("Not found."),
    "timeout": N_("The modem did not answer in time."),
    "unavailable": N_("The gateway is not reachable right now."),
}


def translated_error(code: str, fallback: str) -> str:
    message = MESSAGES.get(code)
    return gettext(message) if message is not None else fallback
