"""Settings an admin changes in the web UI, kept in the ``web_settings`` table: the default
country for numbers typed without ``+`` (over ``[gateway] default_region`` of the settings
file) and each modem's SIM plan (SMS parts a month).

Reads are cached for :data:`CACHE_SECONDS` per web process (a send asks for the country on
every request); a change made here is seen at once by this process and within that time by
the others. Changes are audited.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import phonenumbers
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.store import Database, utc_now, web_settings
from webui.audit import record
from webui.services.caller import Caller
from webui.services.errors import Invalid

DEFAULT_REGION = "default_region"
SIM_PLANS = "sim_plans"
CACHE_SECONDS = 5.0
MAX_PLAN = 10_000_000

REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
"""Countries a default may name (ISO 3166 alpha-2, as phonenumbers knows them)."""


async def read_setting(conn: AsyncConnection, name: str) -> Any:
    found = await conn.execute(select(web_settings.c.value).where(web_settings.c.name == name))
    return found.scalar_one_or_none()


async def write_setting(conn: AsyncConnection, name: str, value: Any) -> None:
    """Insert or replace one setting (``None`` removes it)."""
    if value is None:
        await conn.execute(delete(web_settings).where(web_settings.c.name == name))
        return
    changed = await conn.execute(
        update(web_settings)
        .where(web_settings.c.name == name)
        .values(value=value, updated_at=utc_now())
    )
    if changed.rowcount == 0:
        await conn.execute(insert(web_settings).values(name=name, value=value))


@dataclass
class Preferences:
    """The web UI's own settings of one installation."""

    db: Database
    configured_region: str | None
    """``[gateway] default_region`` of the settings file, used while none is set here."""
    _cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    _loading: dict[str, asyncio.Task[Any]] = field(default_factory=dict)
    """Reads under way: the requests that find the cache expired together share one."""

    async def _cached(self, name: str) -> Any:
        hit = self._cache.get(name)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        loading = self._loading.get(name)
        if loading is None:
            loading = asyncio.create_task(self._load(name))
            self._loading[name] = loading
            loading.add_done_callback(partial(self._loaded, name))
        return await asyncio.shield(loading)

    async def _load(self, name: str) -> Any:
        now = time.monotonic()
        async with self.db.read() as conn:
            value = await read_setting(conn, name)
        if self._loading.get(name) is asyncio.current_task():  # not changed meanwhile
            self._cache[name] = (now, value)
        return value

    def _loaded(self, name: str, task: asyncio.Task[Any]) -> None:
        if self._loading.get(name) is task:
            del self._loading[name]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have gone

    def _forget(self, name: str) -> None:
        """A change made here: the next request reads it, not a read begun before."""
        self._cache.pop(name, None)
        self._loading.pop(name, None)

    async def chosen_region(self) -> str | None:
        """The country chosen in the web UI, None when none was."""
        value = await self._cached(DEFAULT_REGION)
        return value if isinstance(value, str) and value in REGIONS else None

    async def default_region(self) -> str | None:
        """The country of numbers typed without ``+``: the web UI's choice, else the settings
        file's; None when neither says (such numbers are refused)."""
        chosen = await self.chosen_region()
        if chosen is not None:
            return chosen
        return self.configured_region.upper() if self.configured_region else None

    async def set_default_region(self, caller: Caller, region: str) -> None:
        code = region.strip().upper()
        if code not in REGIONS:
            raise Invalid("invalid_value", "choose a country from the list", "default_region")
        async with self.db.begin() as conn:
            await write_setting(conn, DEFAULT_REGION, code)
            await record(
                conn,
                caller.actor,
                "settings.default_region",
                None,
                {"region": code},
                caller.client_address,
            )
        self._forget(DEFAULT_REGION)

    async def sim_plans(self) -> dict[str, int]:
        """SMS parts a month each modem's SIM plan includes (modems without a plan absent)."""
        value = await self._cached(SIM_PLANS)
        if not isinstance(value, dict):
            return {}
        return {str(k): int(v) for k, v in value.items() if isinstance(v, int) and v > 0}

    async def set_sim_plan(self, caller: Caller, modem: str, parts: int | None) -> None:
        """Set (or with None / 0 remove) the monthly plan of ``modem``."""
        if parts is not None and not 0 <= parts <= MAX_PLAN:
            raise Invalid(
                "invalid_value", f"a plan is from 0 to {MAX_PLAN:,} SMS a month", "sim_plan"
            )
        async with self.db.begin() as conn:
            plans = await read_setting(conn, SIM_PLANS)
            plans = dict(plans) if isinstance(plans, dict) else {}
            if parts:
                plans[modem] = parts
            else:
                plans.pop(modem, None)
            await write_setting(conn, SIM_PLANS, plans)
            await record(
                conn,
                caller.actor,
                "settings.sim_plan",
                f"modem:{modem}",
                {"parts_per_month": parts or None},
                caller.client_address,
            )
        self._forget(SIM_PLANS)
