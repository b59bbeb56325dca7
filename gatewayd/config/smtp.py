"""The ``[smtp]`` table: the email-to-SMS server's address, who may send through it and its
limits.

The server is off unless ``listen`` (or ``SMSGW_SMTP_LISTEN``) is set. STARTTLS (and with it
SMTP AUTH) is offered when ``tls_certificate`` and ``tls_key`` name readable PEM files.
``allowed_networks`` (CIDR, also ``SMSGW_SMTP_ALLOWED_NETWORKS``, comma-separated) and
``allowed_senders`` (addresses, or ``@domain`` for a whole domain) let mail in without AUTH:
both must match when both are set, either when only one is. ``reports`` (also
``SMSGW_SMTP_REPORTS``) says which outcomes of a mail's SMS are mailed back to its sender.
Every mistake is one line naming the table and key (or the variable).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from gatewayd.config.model import ListenAddress, SmtpSettings
from gatewayd.config.reader import SettingsError, TableReader

ENV_SMTP_LISTEN = "SMSGW_SMTP_LISTEN"
ENV_SMTP_ALLOWED_NETWORKS = "SMSGW_SMTP_ALLOWED_NETWORKS"
ENV_SMTP_REPORTS = "SMSGW_SMTP_REPORTS"
REPORT_MODES = ("off", "failures", "each", "summary")


def read_smtp(
    table: TableReader, env: Mapping[str, str], parse_listen: Callable[[str], ListenAddress]
) -> SmtpSettings:
    defaults = SmtpSettings()
    listen = _listen(table, env, parse_listen)
    certificate = _file(table, "tls_certificate")
    key = _file(table, "tls_key")
    if (certificate is None) != (key is None):
        missing = "tls_certificate" if certificate is None else "tls_key"
        raise table.error(missing, "is needed with the other (STARTTLS needs both)")
    networks = _networks(table, env)
    senders = tuple(s.strip().lower() for s in table.string_list("allowed_senders", ()))
    for sender in senders:
        if "@" not in sender or any(ch.isspace() for ch in sender):
            raise table.error(
                "allowed_senders", f"{sender!r} is not an address or @domain (ops@example.com)"
            )
    settings = SmtpSettings(
        listen=listen,
        hostname=table.string("hostname", defaults.hostname),
        tls_certificate=certificate,
        tls_key=key,
        allowed_networks=networks,
        allowed_senders=senders,
        account=table.string("account", None),
        max_message_size=table.integer("max_message_size", defaults.max_message_size, minimum=1024),
        max_recipients=table.integer("max_recipients", defaults.max_recipients, minimum=1),
        max_text_length=table.integer("max_text_length", defaults.max_text_length, minimum=1),
        reports=_reports(table, env),
    )
    table.finish()
    return settings


def _listen(
    table: TableReader, env: Mapping[str, str], parse_listen: Callable[[str], ListenAddress]
) -> ListenAddress | None:
    in_file = table.string("listen", None)
    from_env = env.get(ENV_SMTP_LISTEN, "").strip() or None
    chosen = from_env or in_file
    if chosen is None:
        return None
    try:
        return parse_listen(chosen)
    except ValueError as exc:
        problem = str(exc).replace(":8080", ":2525")
        if from_env:
            raise SettingsError(f"{ENV_SMTP_LISTEN}: {problem}") from None
        raise table.error("listen", problem) from None


def _reports(table: TableReader, env: Mapping[str, str]) -> str:
    in_file = table.string("reports", "off").strip().lower()
    from_env = env.get(ENV_SMTP_REPORTS, "").strip().lower()
    value = from_env or in_file
    if value not in REPORT_MODES:
        problem = f"{value!r} is not one of {', '.join(REPORT_MODES)}"
        if from_env:
            raise SettingsError(f"{ENV_SMTP_REPORTS}: {problem}")
        raise table.error("reports", problem)
    return value


def _networks(table: TableReader, env: Mapping[str, str]) -> tuple[str, ...]:
    from_env = env.get(ENV_SMTP_ALLOWED_NETWORKS, "").strip()
    in_file = table.string_list("allowed_networks", ())
    values = tuple(v.strip() for v in from_env.split(",") if v.strip()) if from_env else in_file
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            problem = f"{value!r} is not an IP network such as 10.0.0.0/8"
            if from_env:
                raise SettingsError(f"{ENV_SMTP_ALLOWED_NETWORKS}: {problem}") from None
            raise table.error("allowed_networks", problem) from None
    return values


def _file(table: TableReader, key: str) -> Path | None:
    value = table.string(key, None)
    if value is None:
        return None
    path = Path(value).expanduser().absolute()
    if not path.is_file():
        raise table.error(key, f"no such file: {path}")
    if not os.access(path, os.R_OK):
        raise table.error(key, f"cannot read {path}")
    return path
