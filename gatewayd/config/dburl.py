"""Database URLs: what users write, what SQLAlchemy's asyncio engine needs, and how to name it.

Users write ``postgresql://user:pass@host:5432/sms_gateway`` or ``sqlite:///path/to.db``; the
engine wants ``postgresql+asyncpg://…`` and ``sqlite+aiosqlite:///…``. Relative SQLite paths
are made absolute at load time so a later change of directory cannot move the database.

SQLAlchemy (about half a second to import) is imported when a URL is first parsed, not with
this module: the commands that never open a database (``gatewayd pdu``, ``gatewayd simulate``,
every ``--help``) import the settings without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+asyncpg"}
SQLITE_SCHEMES = {"sqlite", "sqlite+aiosqlite"}


class DatabaseUrlError(ValueError):
    """A database URL the gateway cannot use; the message is one line."""


def parse_database_url(url: str) -> URL:
    """Check ``url`` and return it normalised to its async SQLAlchemy form."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise DatabaseUrlError(
            "must look like postgresql://user:pass@host:5432/sms_gateway or sqlite:///path/to.db"
        ) from None
    scheme = parsed.drivername
    if scheme in POSTGRES_SCHEMES:
        if not parsed.database:
            raise DatabaseUrlError("a PostgreSQL URL needs a database name, e.g. /sms_gateway")
        return parsed.set(drivername="postgresql+asyncpg")
    if scheme in SQLITE_SCHEMES:
        if not parsed.database or parsed.database == ":memory:":
            raise DatabaseUrlError("a SQLite URL needs a file path, e.g. sqlite:///data/gateway.db")
        path = Path(parsed.database).expanduser().absolute()
        return parsed.set(drivername="sqlite+aiosqlite", database=str(path))
    raise DatabaseUrlError(
        f"unsupported database {scheme!r}: use postgresql://… (asyncpg) or sqlite:///…"
    )


def to_async_url(url: str) -> str:
    """The SQLAlchemy asyncio URL (password included) for a user-written database URL."""
    return parse_database_url(url).render_as_string(hide_password=False)


def to_user_url(url: str) -> str:
    """The plain form (``postgresql://…``, ``sqlite:///…``) with SQLite paths made absolute."""
    parsed = parse_database_url(url)
    plain = "postgresql" if parsed.drivername.startswith("postgresql") else "sqlite"
    return parsed.set(drivername=plain).render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL."""
    parsed = parse_database_url(url)
    return Path(parsed.database or "") if parsed.drivername.startswith("sqlite") else None


def describe_database(url: str) -> str:
    """A secret-free name for messages: ``PostgreSQL at host:5432/db`` or ``SQLite at PATH``."""
    parsed = parse_database_url(url)
    if parsed.drivername.startswith("sqlite"):
        return f"SQLite at {parsed.database}"
    return f"PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"
