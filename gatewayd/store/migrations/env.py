"""Alembic environment: runs migrations on the connection :mod:`gatewayd.store.migrate` hands in.

Run from the command line (``alembic -c gatewayd/store/alembic.ini revision --autogenerate``)
it connects to ``$SMSGW_DATABASE_URL`` (default: the settings' database) itself.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from gatewayd.store import metadata
from gatewayd.store.types import UtcDateTime

config = context.config


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our column types into revisions as plain SQLAlchemy types."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
        transactional_ddl=True,  # SQLite DDL is transactional too under our explicit BEGIN
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine() -> None:
    from gatewayd.config import load_settings

    engine = create_async_engine(load_settings(None).database.sqlalchemy_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_on)
    finally:
        await engine.dispose()


handed_in = config.attributes.get("connection")
if handed_in is not None:
    run_on(handed_in)
else:
    asyncio.run(run_with_own_engine())
