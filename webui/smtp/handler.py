"""What the email-to-SMS server does with each command: the aiosmtpd handler.

``MAIL FROM`` is accepted from an authenticated session or an allow-listed client and sender
(else ``530 5.7.0``); each ``RCPT TO`` must name a phone number (else ``550 5.1.1``) that is
not on the opt-out or block list (else ``550 5.7.1``), at most ``[smtp] max_recipients`` of
them (then ``452 4.5.3``); ``DATA`` turns the mail into one SMS
text (:mod:`webui.smtp.text`) sent to every recipient through
:class:`~webui.services.sending.Sending`, so the account's limits, quotas and every check of
the other front doors apply. ``250`` is answered only after the messages are committed; the
mail's ``Message-ID`` is the send's idempotency key, so a client that resends after a lost
answer does not send twice. A refusal is one SMTP reply (:mod:`webui.smtp.replies`); nothing
about the mail is half done. With ``[smtp] reports`` on, each message carries the
``mailto:`` callback that has its outcome mailed back to the envelope sender
(:mod:`webui.mail.reports`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import structlog

from gatewayd.queue import NewMessage
from gatewayd.queue.suppression import refusals
from gatewayd.store import DatabaseUnavailable
from webui.mail.reports import report_url
from webui.services.errors import ServiceError
from webui.services.sending import Sending
from webui.smtp.access import Access, Authenticated, caller_for
from webui.smtp.recipients import number_of
from webui.smtp.replies import reply_for
from webui.smtp.text import TextRefused, header_text, parse_mail, sms_text

log = structlog.get_logger("webui.smtp")

TEMPORARY_FAILURE = "451 4.3.0 Temporary failure: nothing was sent; try again later"


def _peer(session: Any) -> str | None:
    peer = getattr(session, "peer", None)
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return None


class MailToSms:
    """The handler: one per server, shared by its sessions."""

    def __init__(
        self,
        sending: Sending,
        access: Access,
        *,
        max_recipients: int,
        max_text_length: int,
        reports: str = "off",
    ) -> None:
        self.sending = sending
        self.access = access
        self.max_recipients = max_recipients
        self.max_text_length = max_text_length
        self.reports = reports
        self.region = sending.settings.gateway.default_region

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if not isinstance(session.auth_data, Authenticated) and not self.access.allowed(
            _peer(session), address
        ):
            return "530 5.7.0 Authentication required (AUTH after STARTTLS)"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return f"452 4.5.3 Too many recipients: at most {self.max_recipients} per mail"
        number = number_of(address, self.region)
        if number is None:
            return "550 5.1.1 Not a phone number: write <number>@<any domain>"
        try:
            async with self.sending.db.read() as conn:
                refused = await refusals(conn, [number])
        except Exception as exc:
            log.warning("Recipient not checked", error=_error_class(exc))
            return TEMPORARY_FAILURE
        if refused:
            return f"550 5.7.1 opted_out: {refused[number]}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            return await self._data(session, envelope)
        except TextRefused as refused:
            return refused.reply
        except ServiceError as exc:
            return reply_for(exc)
        except DatabaseUnavailable as exc:
            log.warning("Mail not taken: database unavailable", error=str(exc))
            return TEMPORARY_FAILURE
        except Exception:
            log.exception("Mail not taken")
            return TEMPORARY_FAILURE

    async def _data(self, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if not isinstance(content, bytes):
            content = str(content).encode("utf-8", "surrogateescape")
        message = parse_mail(content)
        text = sms_text(message, self.max_text_length)
        numbers = list(dict.fromkeys(number_of(a, self.region) or a for a in envelope.rcpt_tos))
        authenticated = session.auth_data if isinstance(session.auth_data, Authenticated) else None
        account = (
            authenticated.account
            if authenticated is not None
            else await self.access.allow_listed_account()
        )
        caller = caller_for(authenticated, envelope.mail_from or "", _peer(session), account)
        callback = report_url(envelope.mail_from, self.reports)
        # Each recipient passed the opt-out and block lists at RCPT, and the queue checks them
        # again in the transaction that writes the messages (opted_out: 550 5.7.1, nothing
        # written): a third lookup here would only cost a transaction per mail.
        prepared = await self.sending.validate(
            NewMessage(to="", text=text, callback_url=callback),
            numbers,
            skip_invalid=False,
            check_suppressions=False,
        )
        key = _idempotency_key(header_text(message, "message-id"), envelope.mail_from, numbers)
        ids, created = await self.sending.queue_prepared(caller, prepared, key=key)
        log.info(
            "Mail taken",
            sender=envelope.mail_from,
            messages=len(ids),
            first_id=ids[0] if ids else None,
            repeated=not created,
            reports=self.reports if callback is not None else "off",
        )
        first = ids[0] if ids else "-"
        return f"250 2.0.0 Queued as {len(ids)} SMS (first id {first})"


def _error_class(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, DatabaseUnavailable) else type(exc).__name__


def _idempotency_key(message_id: str, sender: str | None, numbers: list[str]) -> str | None:
    """The same mail (Message-ID, sender, recipients) sent again is the same send."""
    if not message_id.strip():
        return None
    digest = hashlib.sha256()
    for piece in (message_id.strip(), sender or "", *numbers):
        digest.update(piece.encode("utf-8", "surrogateescape") + b"\0")
    return "mail:" + digest.hexdigest()
