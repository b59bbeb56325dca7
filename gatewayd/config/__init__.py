"""Settings: one TOML file plus ``SMSGW_*`` environment overrides, validated once at start-up.

Usage::

    from gatewayd.config import load_settings, SettingsError
    settings = load_settings(args.config)        # raises SettingsError (one line)
    settings.database.sqlalchemy_url, settings.modems, settings.web.listen, ...

Every setting is documented in ``docs/configuration.md``.
"""

from gatewayd.config.dburl import DatabaseUrlError, describe_database, to_async_url
from gatewayd.config.loader import load_settings
from gatewayd.config.model import (
    Backoff,
    BoundMessages,
    DatabaseSettings,
    GatewaySettings,
    LeaseSettings,
    ListenAddress,
    LogSettings,
    MailSettings,
    ModemDriver,
    ModemSettings,
    PrepareAhead,
    RetryPolicy,
    Settings,
    SmppSettings,
    SmtpSettings,
    WebSettings,
)
from gatewayd.config.reader import SettingsError

__all__ = [
    "Backoff",
    "BoundMessages",
    "DatabaseSettings",
    "DatabaseUrlError",
    "GatewaySettings",
    "LeaseSettings",
    "ListenAddress",
    "LogSettings",
    "MailSettings",
    "ModemDriver",
    "ModemSettings",
    "PrepareAhead",
    "RetryPolicy",
    "Settings",
    "SettingsError",
    "SmppSettings",
    "SmtpSettings",
    "WebSettings",
    "describe_database",
    "load_settings",
    "to_async_url",
]
