"""Opening what every command needs: the database (with its schema checked or created, and
never a new SQLite file unless the command may create one), the bus, and simulated modems when
asked for."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from gatewayd.config import ModemSettings, Settings
from gatewayd.config.dburl import sqlite_path
from gatewayd.store import Database
from gatewayd.store import migrate as migrations

if TYPE_CHECKING:
    from gatewayd.simulator import ModemHandle, SimNetwork


class SchemaNotReady(Exception):
    """The database has no schema or an old one, and this command may not change it."""


class DatabaseMissing(Exception):
    """The SQLite file named by the settings does not exist, and this command may not create
    it (only ``gatewayd run`` and ``gatewayd migrate`` do): one line saying where it looked."""


def require_existing_database(settings: Settings) -> None:
    """Raise :class:`DatabaseMissing` when the settings name a SQLite file that is not there:
    a command run from another folder must not start a new, empty database of its own."""
    path = sqlite_path(settings.database.url)
    if path is not None and not path.exists():
        raise DatabaseMissing(
            f"no database at {path}: run this in the folder where `gatewayd run` keeps its "
            "data, or point at the database with SMSGW_DATABASE_URL, SMSGW_DATA_DIR or "
            "--config (`gatewayd migrate` creates a new one)"
        )


async def open_database(
    settings: Settings,
    *,
    create: bool = False,
    create_sqlite_schema: bool = True,
    pre_ping: bool = False,
    idle_in_transaction_timeout: float | None = None,
) -> Database:
    """Open the database; SQLite files get their schema created or upgraded on the spot (the
    embedded mode's first minute), PostgreSQL must have been migrated with ``gatewayd migrate``.
    A SQLite file that does not exist yet is created only with ``create``; otherwise
    :class:`DatabaseMissing`.
    """
    if not create:
        require_existing_database(settings)
    db = Database.from_settings(
        settings.database,
        pre_ping=pre_ping,
        idle_in_transaction_timeout=idle_in_transaction_timeout,
    )
    try:
        if settings.database.is_sqlite and create_sqlite_schema:
            logging.getLogger("alembic").setLevel(logging.WARNING)
            await migrations.upgrade(db)
        else:
            try:
                await migrations.require_current_schema(db)
            except migrations.SchemaOutdated as exc:
                raise SchemaNotReady(f"{exc}") from None
    except BaseException:
        await db.close()
        raise
    return db


SIM_LATENCY_MS = 300
SIM_REPORT_DELAY_MS = 1500


async def start_simulated_modems(
    settings: Settings, count: int, *, directory: Path | None = None
) -> tuple[SimNetwork, list[ModemHandle], tuple[ModemSettings, ...]]:
    """``count`` simulated modems on ptys, as modem settings named ``sim0``, ``sim1``, …

    The simulator is imported here: only a command asked to simulate loads it."""
    from gatewayd.simulator import SimNetwork

    network = SimNetwork(latency_ms=SIM_LATENCY_MS, report_delay_ms=SIM_REPORT_DELAY_MS)
    folder = directory or settings.gateway.data_dir / "sim"
    handles = await network.start(count, folder)
    modems = tuple(ModemSettings(name=f"sim{h.index}", device=str(h.device)) for h in handles)
    return network, handles, modems


def with_modems(settings: Settings, modems: tuple[ModemSettings, ...]) -> Settings:
    return replace(settings, modems=settings.modems + modems)
