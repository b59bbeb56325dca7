"""The email-to-SMS server's protocol and listener, on aiosmtpd.

:class:`GatewaySmtp` is aiosmtpd's SMTP state machine with AUTH checked against the database
(aiosmtpd calls its authenticator synchronously; here ``AUTH PLAIN`` / ``AUTH LOGIN`` parse
the credentials as aiosmtpd does and then await :meth:`~webui.smtp.access.Access.authenticate`).
AUTH is only offered after STARTTLS. The policy lives in :mod:`webui.smtp.handler`.

The address of ``MAIL FROM`` / ``RCPT TO`` in its everyday form (``<local@domain>`` of dot-atoms,
then the parameters) is read with one regular expression; anything else goes to aiosmtpd's own
RFC 5322 parser, which costs some 15 % of the server's CPU per mail and gives the same answer
for the everyday form.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from gatewayd.config import SmtpSettings
from webui.smtp.access import Access
from webui.smtp.handler import MailToSms

log = structlog.get_logger("webui.smtp")

AUTH_FAILED = "535 5.7.8 Authentication credentials invalid"
LOCKED_OUT = (
    "454 4.7.0 Too many failed AUTH attempts from this address: locked out for a while, "
    "try again later"
)


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
PLAIN_PATH = re.compile(
    rf"\s*<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>(?:[ \t]+(.*?))?[ \t]*"
)


class TlsError(ValueError):
    """The STARTTLS certificate or key cannot be loaded; ``str()`` is one line."""


def _parsed(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    """aiosmtpd's synchronous authenticator: only hands the parsed credentials on."""
    return AuthResult(success=True, handled=False, auth_data=auth_data)


class GatewaySmtp(SMTP):
    """One SMTP session."""

    def __init__(self, handler: MailToSms, access: Access, **kwargs: Any) -> None:
        super().__init__(handler, authenticator=_parsed, **kwargs)
        self.access = access

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = PLAIN_PATH.fullmatch(arg) if arg else None
        if plain is None:
            return super()._getaddr(arg)
        address = plain.group(1)
        local = address.rpartition("@")[0]
        if self.local_part_limit and len(local) > self.local_part_limit:
            return None, None
        return address, plain.group(2) or ""

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._checked(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._checked(await super().auth_LOGIN(_, args))

    async def _checked(self, parsed: AuthResult) -> AuthResult:
        if not parsed.success or not isinstance(parsed.auth_data, LoginPassword):
            return parsed
        credentials = parsed.auth_data
        peer = self.session.peer if self.session is not None else None
        address = str(peer[0]) if isinstance(peer, tuple) and peer else None
        user = credentials.login.decode("utf-8", "replace")
        password = credentials.password.decode("utf-8", "replace")
        try:
            found = await self.access.authenticate(user, password, address)
        except Exception:
            log.exception("SMTP AUTH could not be checked")
            return AuthResult(
                success=False, handled=False, message="454 4.7.0 Temporary authentication failure"
            )
        if found == "locked_out":
            return AuthResult(success=False, handled=False, message=LOCKED_OUT)
        if found == "invalid":
            return AuthResult(success=False, handled=False, message=AUTH_FAILED)
        return AuthResult(success=True, handled=False, auth_data=found)


def tls_context(settings: SmtpSettings) -> ssl.SSLContext | None:
    if not settings.tls or settings.tls_certificate is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_certificate, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(f"[smtp] cannot load the STARTTLS certificate and key: {exc}") from None
    return context


async def listen(settings: SmtpSettings, handler: MailToSms, access: Access) -> asyncio.Server:
    """Start listening on ``[smtp] listen`` (OSError or TlsError when that fails)."""
    assert settings.listen is not None
    context = tls_context(settings)
    loop = asyncio.get_running_loop()

    def session() -> GatewaySmtp:
        return GatewaySmtp(
            handler,
            access,
            hostname=settings.hostname,
            ident="SMS gateway",
            data_size_limit=settings.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            tls_context=context,
            require_starttls=False,
            auth_required=False,
            auth_require_tls=True,
            loop=loop,
        )

    return await loop.create_server(session, settings.listen.host, settings.listen.port)
