"""The outbox of mail the gateway sends: :func:`queue_mail` writes one mail durably, in the
caller's transaction, for the mail sender to deliver later (``outgoing_mail``).

Whatever goes into a header is made safe here, once, for every caller: the subject becomes one
line (CR, LF and other control characters turn into spaces, so text from an SMS cannot add
headers), it is capped in length, and the address must be a single plain ``local@domain``.
"""

from __future__ import annotations

import re

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import MAX_MAIL_ADDRESS, outgoing_mail, utc_now
from webui.services.errors import Invalid

MAX_SUBJECT = 200
"""Characters of a subject; longer ones are cut with an ellipsis (a subject is a summary)."""

MAX_BODY = 100_000
"""Characters of a body: mail is for people, an SMS text is at most 39,015 characters."""

MAX_REASON = 64

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What ``str.strip()`` takes away, spelled out so that every regex engine reads it alike."""
_ADDRESS_TEXT = (
    r"[^\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@<>(),;:\"\[\]\\]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
)
ADDRESS_PATTERN = rf"^[{_SPACE}]*{_ADDRESS_TEXT}[{_SPACE}]*$"
"""What :func:`mail_address` takes, as a JSON Schema pattern (the API documents it)."""
_ADDRESS = re.compile(_ADDRESS_TEXT)


def mail_address(value: str) -> str:
    """``value`` as one plain address, or :class:`Invalid` (``invalid_email``)."""
    address = value.strip()
    if len(address) > MAX_MAIL_ADDRESS or not _ADDRESS.fullmatch(address):
        raise Invalid("invalid_email", "not a plain email address like name@example.com", "to")
    return address


def one_line(text: str, limit: int = MAX_SUBJECT) -> str:
    """``text`` as a header-safe single line of at most ``limit`` characters."""
    line = _CONTROL.sub(" ", text).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


async def queue_mail(
    conn: AsyncConnection, *, to: str, subject: str, body: str, reason: str
) -> int:
    """Write one mail to the outbox in ``conn``'s transaction; its id. The mail is sent after
    the transaction commits, and never if it rolls back."""
    if len(body) > MAX_BODY:
        body = body[: MAX_BODY - 1] + "…"
    now = utc_now()
    row = {
        "to_address": mail_address(to),
        "subject": one_line(subject),
        "body": body.replace("\r\n", "\n").replace("\r", "\n"),
        "reason": one_line(reason, MAX_REASON),
        "created_at": now,
        "next_attempt_at": now,
    }
    result = await conn.execute(insert(outgoing_mail).values(row).returning(outgoing_mail.c.id))
    return int(result.scalar_one())
