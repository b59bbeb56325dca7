"""Load the settings: one TOML file, then the ``SMSGW_*`` environment variables over it.

The secret settings (database URL, Redis URL, secret key) can also come from a file named by
``SMSGW_<NAME>_FILE`` (Docker secrets, systemd credentials), so they stay out of the process
environment.

:func:`load_settings` is called once at start-up; everything after reads the frozen
:class:`~gatewayd.config.model.Settings`. Every mistake raises
:class:`~gatewayd.config.reader.SettingsError` with one line naming the file, table and key.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import phonenumbers

from gatewayd.config.dburl import DatabaseUrlError, describe_database, to_async_url, to_user_url
from gatewayd.config.mail import read_mail
from gatewayd.config.model import (
    BOUND_MESSAGES,
    DEFAULT_DB_FILE_NAME,
    DEFAULT_LISTEN,
    LOG_LEVELS,
    PREPARE_AHEAD,
    DatabaseSettings,
    GatewaySettings,
    LeaseSettings,
    ListenAddress,
    LogSettings,
    RetryPolicy,
    Settings,
    WebSettings,
)
from gatewayd.config.modems import read_modems
from gatewayd.config.reader import SettingsError, TableReader
from gatewayd.config.smpp import read_smpp
from gatewayd.config.smtp import read_smtp

ENV_CONFIG = "SMSGW_CONFIG"
ENV_DATABASE_URL = "SMSGW_DATABASE_URL"
ENV_REDIS_URL = "SMSGW_REDIS_URL"
ENV_SECRET_KEY = "SMSGW_SECRET_KEY"
ENV_LISTEN = "SMSGW_LISTEN"
ENV_LOG_FILE = "SMSGW_LOG_FILE"
ENV_LOG_LEVEL = "SMSGW_LOG_LEVEL"
ENV_DEFAULT_REGION = "SMSGW_DEFAULT_REGION"
ENV_DATA_DIR = "SMSGW_DATA_DIR"
ENV_METRICS_ALLOW = "SMSGW_METRICS_ALLOW"
ENV_TRUSTED_PROXIES = "SMSGW_TRUSTED_PROXIES"
T = TypeVar("T", bound=str)
FILE_SUFFIX = "_FILE"
SECRET_SETTINGS = (ENV_DATABASE_URL, ENV_REDIS_URL, ENV_SECRET_KEY)
"""Settings that may be given as ``<NAME>_FILE``: a path to a file holding the value."""

HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
LISTEN = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]\s]+)):(?P<port>\d{1,5})$")
TOP_LEVEL_TABLES = ("gateway", "web", "database", "redis", "log", "modem", "smpp", "smtp", "mail")


def load_settings(path: str | None, env: Mapping[str, str] = os.environ) -> Settings:
    """Read ``path`` (or ``$SMSGW_CONFIG``; neither: defaults only) and apply the environment."""
    chosen = path or _env(env, ENV_CONFIG)
    source = Path(chosen) if chosen else None
    data = _read_toml(source) if source else {}
    top = TableReader(data, f"{source}:" if source else "settings:")
    for key in data:
        if key not in TOP_LEVEL_TABLES:
            raise SettingsError(
                f"{top.where} unknown table [{key}] (known: {', '.join(TOP_LEVEL_TABLES)})"
            )
    gateway = _read_gateway(top.table("gateway"), env)
    return Settings(
        gateway=gateway,
        web=_read_web(top.table("web"), env),
        database=_read_database(top.table("database"), env, gateway.data_dir),
        log=_read_log(top.table("log"), env),
        smpp=read_smpp(top.table("smpp"), env, _parse_listen),
        smtp=read_smtp(top.table("smtp"), env, _parse_listen),
        mail=read_mail(top.table("mail"), env),
        redis_url=_read_redis_url(top.table("redis"), env),
        modems=read_modems(data.get("modem"), top.where),
        source=source,
    )


def _env(env: Mapping[str, str], name: str) -> str | None:
    """An environment variable, with empty values treated as unset."""
    value = env.get(name, "").strip()
    return value or None


def _secret(env: Mapping[str, str], name: str) -> tuple[str | None, str]:
    """A secret setting and where it came from (for messages, which never show the value):
    ``NAME`` itself, or the contents of the file ``NAME_FILE`` names, never both."""
    direct = _env(env, name)
    file_name = _env(env, name + FILE_SUFFIX)
    if file_name is None:
        return direct, name
    where = f"{name}{FILE_SUFFIX} ({file_name})"
    if direct is not None:
        raise SettingsError(f"{name} and {name}{FILE_SUFFIX} are both set: keep one")
    try:
        value = Path(file_name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise SettingsError(f"{where}: no such file") from None
    except OSError as exc:
        raise SettingsError(f"{where}: cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{where}: not UTF-8 text") from None
    if not value:
        raise SettingsError(f"{where}: the file is empty")
    return value, where


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"settings file not found: {path}") from None
    except OSError as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: not valid TOML: the file is not UTF-8") from None


def _read_gateway(table: TableReader, env: Mapping[str, str]) -> GatewaySettings:
    defaults = GatewaySettings()
    host = table.string("host", defaults.host)
    if not HOST_NAME.match(host):
        raise table.error("host", f"must be letters, digits, '.', '_' or '-', got {host!r}")
    region = _region(table, env)
    data_dir_in_file = table.string("data_dir", None)
    data_dir = _env(env, ENV_DATA_DIR) or data_dir_in_file
    retry_table = table.table("retry")
    retry = RetryPolicy(
        max_attempts=retry_table.integer("max_attempts", RetryPolicy.max_attempts, minimum=1),
        backoff_base=retry_table.number("backoff_base", RetryPolicy.backoff_base),
        backoff_cap=retry_table.number("backoff_cap", RetryPolicy.backoff_cap),
    )
    if retry.backoff_cap < retry.backoff_base:
        raise retry_table.error(
            "backoff_cap", f"must not be below backoff_base ({retry.backoff_base})"
        )
    retry_table.finish()
    prepare_ahead = _choice(table, "prepare_ahead", PREPARE_AHEAD, defaults.prepare_ahead)
    lease = _read_lease(table.table("lease"))
    settings = GatewaySettings(
        host=host,
        poll_interval=table.number("poll_interval", defaults.poll_interval),
        reassembly_timeout=table.number("reassembly_timeout", defaults.reassembly_timeout),
        default_region=region,
        data_dir=Path(data_dir).expanduser().absolute() if data_dir else Path("data").absolute(),
        retry=retry,
        prepare_ahead=prepare_ahead,
        lease=lease,
    )
    table.finish()
    return settings


def _choice(table: TableReader, key: str, choices: tuple[T, ...], default: T) -> T:
    """A string setting that must be one of ``choices``."""
    asked = table.string(key, default)
    found = next((choice for choice in choices if choice == asked), None)
    if found is None:
        listed = ", ".join(f'"{choice}"' for choice in choices)
        raise table.error(key, f"must be one of {listed}, got {asked!r}")
    return found


MIN_LEASE_EXPIRY = 2.0
MIN_SAFETY_MARGIN = 0.5
MARGIN_SHARE = 0.15


def _read_lease(table: TableReader) -> LeaseSettings:
    """``[gateway.lease]``: the expiry others use, how often it is renewed, the margin by which
    this host stops writing to its modems before it, and the policy for bound messages."""
    defaults = LeaseSettings()
    expiry = table.number("expiry", defaults.expiry)
    if expiry < MIN_LEASE_EXPIRY:
        raise table.error(
            "expiry", f"must be at least {MIN_LEASE_EXPIRY:g} seconds, got {expiry:g}"
        )
    # Given only an expiry, the margin and renewal interval follow it (the defaults' shares).
    margin = table.number(
        "safety_margin",
        min(defaults.safety_margin, max(MIN_SAFETY_MARGIN, expiry * MARGIN_SHARE)),
    )
    if not MIN_SAFETY_MARGIN <= margin <= expiry / 2:
        raise table.error(
            "safety_margin",
            f"must be between {MIN_SAFETY_MARGIN:g} s and half of expiry ({expiry / 2:g} s),"
            f" got {margin:g}",
        )
    renew = table.number("renew_interval", min(defaults.renew_interval, (expiry - margin) / 2))
    if renew > (expiry - margin) / 2:
        raise table.error(
            "renew_interval",
            f"must be at most half of expiry - safety_margin ({(expiry - margin) / 2:g} s),"
            f" so that one late renewal does not stop the modems, got {renew:g}",
        )
    settings = LeaseSettings(
        expiry=expiry,
        renew_interval=renew,
        safety_margin=margin,
        bound_messages=_choice(table, "bound_messages", BOUND_MESSAGES, defaults.bound_messages),
    )
    table.finish()
    return settings


def _region(table: TableReader, env: Mapping[str, str]) -> str | None:
    from_file = table.string("default_region", None)
    from_env = _env(env, ENV_DEFAULT_REGION)
    region = from_env or from_file
    if region is None or region.upper() in phonenumbers.SUPPORTED_REGIONS:
        return region.upper() if region else None
    problem = f"must be an ISO 3166 country code such as BR or PT, got {region!r}"
    if from_env:
        raise SettingsError(f"{ENV_DEFAULT_REGION}: {problem}")
    raise table.error("default_region", problem)


def _read_web(table: TableReader, env: Mapping[str, str]) -> WebSettings:
    defaults = WebSettings()
    listen_in_file = table.string("listen", DEFAULT_LISTEN)
    listen_from_env = _env(env, ENV_LISTEN)
    try:
        listen = _parse_listen(listen_from_env or listen_in_file)
    except ValueError as exc:
        if listen_from_env:
            raise SettingsError(f"{ENV_LISTEN}: {exc}") from None
        raise table.error("listen", str(exc)) from None
    secret_key_in_file = table.string("secret_key", None)
    secret_key = _secret(env, ENV_SECRET_KEY)[0] or secret_key_in_file
    metrics_allow = table.string_list("metrics_allow", defaults.metrics_allow)
    metrics_allow_from_env = _env(env, ENV_METRICS_ALLOW)
    if metrics_allow_from_env:
        metrics_allow = tuple(n.strip() for n in metrics_allow_from_env.split(",") if n.strip())
    for network in metrics_allow:
        if not _is_network(network):
            problem = f"{network!r} is not an IP address or network (CIDR)"
            if metrics_allow_from_env:
                raise SettingsError(f"{ENV_METRICS_ALLOW}: {problem}") from None
            raise table.error("metrics_allow", problem) from None
    webhook_allow = table.string_list("webhook_allow", defaults.webhook_allow)
    for entry in webhook_allow:
        if not _network_or_host(entry):
            raise table.error(
                "webhook_allow",
                f"{entry!r} is not an IP address, a network "
                "(CIDR) or a host name such as erp.lan or *.corp.lan",
            )
    settings = WebSettings(
        listen=listen,
        secret_key=secret_key,
        slow_request_ms=table.integer("slow_request_ms", defaults.slow_request_ms, minimum=1),
        metrics_allow=metrics_allow,
        trusted_proxies=_trusted_proxies(table, env),
        live_streams_per_user=table.integer(
            "live_streams_per_user", defaults.live_streams_per_user, minimum=1
        ),
        command_timeout=table.number("command_timeout", defaults.command_timeout),
        alert_interval=table.number("alert_interval", defaults.alert_interval),
        webhook_allow=tuple(entry.strip() for entry in webhook_allow),
    )
    table.finish()
    return settings


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return False
    return True


def _trusted_proxies(table: TableReader, env: Mapping[str, str]) -> tuple[str, ...]:
    """``SMSGW_TRUSTED_PROXIES`` (comma-separated; ``none`` for no proxy) over
    ``[web] trusted_proxies``; default: no proxy is trusted."""
    in_file = table.string_list("trusted_proxies", ())
    from_env = _env(env, ENV_TRUSTED_PROXIES)
    if from_env is None:
        for network in in_file:
            if not _is_network(network):
                raise table.error(
                    "trusted_proxies", f"{network!r} is not an IP address or network (CIDR)"
                )
        return tuple(network.strip() for network in in_file)
    if from_env.lower() == "none":
        return ()
    networks = tuple(part.strip() for part in from_env.split(",") if part.strip())
    for network in networks:
        if not _is_network(network):
            raise SettingsError(
                f"{ENV_TRUSTED_PROXIES}: {network!r} is not an IP address or network (CIDR)"
            )
    return networks


HOST_PATTERN = re.compile(
    r"^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?"
    r"(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$"
)


def _network_or_host(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return bool(HOST_PATTERN.match(entry.strip()))
    return True


def _parse_listen(text: str) -> ListenAddress:
    match = LISTEN.match(text.strip())
    port = int(match["port"]) if match else -1
    if not match or port > 65535:
        raise ValueError(f"must be HOST:PORT such as 127.0.0.1:8080 or [::1]:8080, got {text!r}")
    return ListenAddress(match["v6"] or match["host"], port)


def _read_database(table: TableReader, env: Mapping[str, str], data_dir: Path) -> DatabaseSettings:
    in_file = table.string("url", None)
    from_env, env_name = _secret(env, ENV_DATABASE_URL)
    url = from_env or in_file
    if url is None:
        url = f"sqlite:///{data_dir / DEFAULT_DB_FILE_NAME}"
    try:
        settings = DatabaseSettings(
            url=to_user_url(url),
            sqlalchemy_url=to_async_url(url),
            display=describe_database(url),
            pool_size=table.integer("pool_size", 20, minimum=1),
            connect_timeout=table.number("connect_timeout", 10.0),
        )
    except DatabaseUrlError as exc:
        if from_env:
            raise SettingsError(f"{env_name}: {exc}") from None
        raise table.error("url", str(exc)) from None
    table.finish()
    return settings


def _read_log(table: TableReader, env: Mapping[str, str]) -> LogSettings:
    file_in_file = table.string("file", None)
    file = _env(env, ENV_LOG_FILE) or file_in_file
    level_in_file = table.string("level", "INFO")
    level_from_env = _env(env, ENV_LOG_LEVEL)
    level = (level_from_env or level_in_file).upper()
    if level not in LOG_LEVELS:
        problem = f"must be one of {', '.join(LOG_LEVELS)}, got {level!r}"
        if level_from_env:
            raise SettingsError(f"{ENV_LOG_LEVEL}: {problem}")
        raise table.error("level", problem)
    table.finish()
    return LogSettings(file=Path(file).expanduser().absolute() if file else None, level=level)


def _read_redis_url(table: TableReader, env: Mapping[str, str]) -> str | None:
    in_file = table.string("url", None)
    table.finish()
    from_env, env_name = _secret(env, ENV_REDIS_URL)
    url = from_env or in_file
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
        problem = "must look like redis://host:6379/0 (or rediss://, unix://)"
        if from_env:
            raise SettingsError(f"{env_name}: {problem}")
        raise table.error("url", problem)
    return url
