"""Database URLs: what users write, what SQLAlchemy's asyncio engine needs, and how to name it.

Users write ``postgresql://user:pass@host:5432/sms_gateway`` or ``sqlite:///path/to.db``; the
engine wants ``postgresql+asyncpg://…`` and ``sqlite+aiosqlite:///…``. Relative SQLite paths
are made absolute at load time so a later change of directory cannot move the database.

Several PostgreSQL servers are written as libpq and asyncpg take them:
``postgresql://user:pass@db1:5432,db2:5432/sms_gateway?target_session_attrs=read-write``
(ports optional). Connections try the hosts in turn and keep the first that is the primary
(``read-write``, the default with several hosts: the gateway writes), so a promoted standby is
found after a failover. SQLAlchemy wants that as ``?host=db1:5432&host=db2:5432``; the form
users write is kept for what reads the URL itself (``pg_dump`` in ``scripts/backup.sh``).

SQLAlchemy (about half a second to import) is imported when a URL is first parsed, not with
this module: the commands that never open a database (``gatewayd pdu``, ``gatewayd simulate``,
every ``--help``) import the settings without it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlsplit

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+asyncpg"}
SQLITE_SCHEMES = {"sqlite", "sqlite+aiosqlite"}
SESSION_ATTRS = ("any", "primary", "standby", "prefer-standby", "read-write", "read-only")
"""``target_session_attrs`` values libpq and asyncpg both take."""
MULTI_HOST_DEFAULT = "read-write"
READ_ONLY_ATTRS = ("standby", "prefer-standby", "read-only")
HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^:\[\],/@\s]+)(?::(?P<port>\d{1,5}))?$")


class DatabaseUrlError(ValueError):
    """A database URL the gateway cannot use; the message is one line."""


def parse_database_url(url: str) -> URL:
    """Check ``url`` and return it normalised to its async SQLAlchemy form."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = url.strip()
    several = _several_hosts(text)
    if several is not None:
        return several
    try:
        parsed = make_url(text)
    except (ArgumentError, ValueError):
        raise DatabaseUrlError(
            "must look like postgresql://user:pass@host:5432/sms_gateway or sqlite:///path/to.db"
        ) from None
    scheme = parsed.drivername
    if scheme in POSTGRES_SCHEMES:
        if not parsed.database:
            raise DatabaseUrlError("a PostgreSQL URL needs a database name, e.g. /sms_gateway")
        _check_query(parsed.query, several_hosts=isinstance(parsed.query.get("host"), tuple))
        return parsed.set(drivername="postgresql+asyncpg")
    if scheme in SQLITE_SCHEMES:
        if not parsed.database or parsed.database == ":memory:":
            raise DatabaseUrlError("a SQLite URL needs a file path, e.g. sqlite:///data/gateway.db")
        path = Path(parsed.database).expanduser().absolute()
        return parsed.set(drivername="sqlite+aiosqlite", database=str(path))
    raise DatabaseUrlError(
        f"unsupported database {scheme!r}: use postgresql://… (asyncpg) or sqlite:///…"
    )


def _several_hosts(text: str) -> URL | None:
    """The SQLAlchemy form of a libpq URL naming several hosts (``host1,host2``); None when
    ``text`` names one host or is not a PostgreSQL URL."""
    parts = urlsplit(text)
    if parts.scheme not in POSTGRES_SCHEMES:
        return None
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    if "," not in hostlist:
        return None
    hosts = [_host_port(item) for item in hostlist.split(",")]
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise DatabaseUrlError("a PostgreSQL URL needs a database name, e.g. /sms_gateway")
    user, _, password = userinfo.partition(":")
    query: dict[str, str | tuple[str, ...]] = dict(parse_qsl(parts.query))
    if "host" in query:
        raise DatabaseUrlError("name the hosts either before the database or as ?host=, not both")
    query.setdefault("target_session_attrs", MULTI_HOST_DEFAULT)
    _check_query(query, several_hosts=True)
    query["host"] = tuple(hosts)
    from sqlalchemy.engine import URL

    return URL.create(
        "postgresql+asyncpg",
        username=unquote(user) or None,
        password=unquote(password) if password else None,
        database=database,
        query=query,
    )


def _host_port(item: str) -> str:
    match = HOST_PORT.match(item.strip())
    if not match:
        raise DatabaseUrlError(f"{item.strip()!r} is not a host or host:port")
    port = int(match["port"] or 5432)
    if not 1 <= port <= 65535:
        raise DatabaseUrlError(f"{item.strip()!r}: the port must be 1-65535")
    return f"{match['host']}:{port}"


def _check_query(query: Mapping[str, str | Sequence[str]], *, several_hosts: bool) -> None:
    attrs = query.get("target_session_attrs")
    if attrs is not None and (not isinstance(attrs, str) or attrs not in SESSION_ATTRS):
        listed = ", ".join(SESSION_ATTRS)
        raise DatabaseUrlError(f"target_session_attrs must be one of {listed}, got {attrs!r}")
    if attrs in READ_ONLY_ATTRS or (several_hosts and attrs == "any"):
        raise DatabaseUrlError(
            f"target_session_attrs={attrs} would let the gateway connect to a standby, where "
            "it cannot write: use read-write (the default with several hosts)"
        )


def hosts_of(parsed: URL) -> list[str]:
    """``host:port`` of each server a (parsed) PostgreSQL URL names, in order."""
    several = parsed.query.get("host")
    if isinstance(several, tuple):
        return list(several)
    if isinstance(several, str):
        return [several]
    return [f"{parsed.host or 'localhost'}:{parsed.port or 5432}"]


def to_async_url(url: str) -> str:
    """The SQLAlchemy asyncio URL (password included) for a user-written database URL."""
    return parse_database_url(url).render_as_string(hide_password=False)


def to_user_url(url: str) -> str:
    """The plain form (``postgresql://…``, ``sqlite:///…``) with SQLite paths made absolute;
    several hosts in the libpq form (``host1:5432,host2:5432``)."""
    parsed = parse_database_url(url)
    if parsed.drivername.startswith("sqlite"):
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if not isinstance(parsed.query.get("host"), tuple):
        return parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    userinfo = ""
    if parsed.username:
        userinfo = quote(parsed.username, safe="")
        if parsed.password:
            userinfo += ":" + quote(str(parsed.password), safe="")
        userinfo += "@"
    rest = "&".join(
        f"{key}={quote(str(value), safe='-')}"
        for key, value in parsed.query.items()
        if key != "host"
    )
    hosts = ",".join(hosts_of(parsed))
    return f"postgresql://{userinfo}{hosts}/{quote(parsed.database or '')}" + (
        f"?{rest}" if rest else ""
    )


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL."""
    parsed = parse_database_url(url)
    return Path(parsed.database or "") if parsed.drivername.startswith("sqlite") else None


def describe_database(url: str) -> str:
    """A secret-free name for messages: ``PostgreSQL at host:5432/db`` (several hosts joined by
    commas) or ``SQLite at PATH``."""
    parsed = parse_database_url(url)
    if parsed.drivername.startswith("sqlite"):
        return f"SQLite at {parsed.database}"
    return f"PostgreSQL at {','.join(hosts_of(parsed))}/{parsed.database}"
