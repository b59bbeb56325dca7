"""The ``[mail]`` table: the relay outgoing mail goes through (``SMSGW_MAIL_URL``) and its
sender address (``SMSGW_MAIL_FROM``); without a URL no mail is sent.

URL forms: ``smtp://[user:pass@]host[:port]`` (STARTTLS when the relay offers it; port 25 by
default), ``smtp+starttls://…`` (STARTTLS required; port 587) and ``smtps://…`` (TLS from the
first byte; port 465). The user name and password are percent-decoded. Every mistake is one
line naming the table and key (or the variable) and never shows the password.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from gatewayd.config.model import MailSettings
from gatewayd.config.reader import SettingsError, TableReader

ENV_MAIL_URL = "SMSGW_MAIL_URL"
ENV_MAIL_FROM = "SMSGW_MAIL_FROM"
DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


def read_mail(table: TableReader, env: Mapping[str, str]) -> MailSettings:
    url_in_file = table.string("url", None)
    from_in_file = table.string("from", None)
    url = env.get(ENV_MAIL_URL, "").strip() or url_in_file
    sender = env.get(ENV_MAIL_FROM, "").strip() or from_in_file
    table.finish()
    if url is None:
        return MailSettings()
    where = ENV_MAIL_URL if env.get(ENV_MAIL_URL, "").strip() else f"{table.where} url"
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise SettingsError(
            f"{where}: must be smtp://host:port, smtp+starttls://… or smtps://… "
            "(user:password@ optional)"
        )
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise SettingsError(f"{where}: the port is not a number from 1 to 65535") from None
    if sender is None or "@" not in sender or any(ch.isspace() for ch in sender):
        raise SettingsError(
            f"{ENV_MAIL_FROM}: outgoing mail needs a sender address such as sms-gateway@example.com"
        )
    return MailSettings(
        host=parts.hostname,
        port=port,
        security=parts.scheme,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=sender,
    )
