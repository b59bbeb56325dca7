"""One ``outgoing_mail`` row as a mail ready for the relay.

Header injection is impossible by construction: the subject and addresses are made one line
again here (whatever wrote the row), headers are set through :class:`email.message.EmailMessage`
with the ``SMTP`` policy (which refuses CR or LF in a header and encodes non-ASCII as RFC 2047
words), and the envelope recipient is the row's address alone, never read from headers. The
body is UTF-8 text; a line holding only ``.`` is dot-stuffed by the client.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from gatewayd.store import utc_now
from webui.services.mail_outbox import mail_address, one_line


def build_mail(mail_id: int, sender: str, to: str, subject: str, body: str) -> EmailMessage:
    """The mail (ValueError when an address is not a plain one)."""
    recipient = mail_address(to)
    message = EmailMessage(policy=SMTP)
    message["From"] = mail_address(sender)
    message["To"] = recipient
    message["Subject"] = one_line(subject)
    message["Date"] = format_datetime(utc_now())
    domain = sender.rpartition("@")[2]
    message["Message-ID"] = f"<outgoing-mail-{mail_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body, charset="utf-8")
    return message
