"""What gatewayd records about its modems: identity, health, state, parts sent today, SIM
balance, and the signal history that the web UI charts. The ``modems`` table is written only
here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.modem.identity import ModemHealth, ModemIdentity
from gatewayd.store import modem_samples, modems
from gatewayd.store.upsert import upsert


async def register_modem(
    conn: AsyncConnection, *, name: str, host: str, device: str, state: str, now: datetime
) -> int:
    """Claim the modem row for this host; returns today's sent count (for daily limits)."""
    await upsert(
        conn,
        modems,
        {"name": name, "host": host, "device": device, "state": state, "updated_at": now},
        key=("name",),
    )
    row = (
        await conn.execute(
            select(modems.c.sent_today, modems.c.sent_today_date).where(modems.c.name == name)
        )
    ).one()
    return int(row.sent_today) if row.sent_today_date == now.date().isoformat() else 0


_TODAY = bindparam("b_today", type_=modems.c.sent_today_date.type)
_PARTS = bindparam("b_parts", type_=modems.c.sent_today.type)
_COUNT_SENT = (
    update(modems)
    .where(modems.c.name == bindparam("b_modem"))
    .values(
        sent_today=case(
            (modems.c.sent_today_date == _TODAY, modems.c.sent_today + _PARTS), else_=_PARTS
        ),
        sent_today_date=_TODAY,
    )
)


async def count_sent(
    conn: AsyncConnection, parts_by_modem: Mapping[str, int], *, now: datetime
) -> None:
    """``parts`` more parts sent by each modem today (UTC); a counter restarts each day."""
    if parts_by_modem:
        today = now.date().isoformat()
        await conn.execute(
            _COUNT_SENT,
            [
                {"b_modem": modem, "b_today": today, "b_parts": count}
                for modem, count in sorted(parts_by_modem.items())
            ],
        )


async def save_balance(
    conn: AsyncConnection,
    name: str,
    balance: float | None,
    text: str,
    *,
    now: datetime,
    low_balance: float | None = None,
) -> None:
    """The SIM's balance as read by USSD (``text`` the network's answer), with the modem's
    configured ``low_balance`` threshold (the low-credit alert compares the two)."""
    await conn.execute(
        update(modems)
        .where(modems.c.name == name)
        .values(balance=balance, balance_text=text[:1000], balance_at=now, low_balance=low_balance)
    )


async def set_state(
    conn: AsyncConnection, name: str, state: str, *, now: datetime, error: str | None = None
) -> None:
    await conn.execute(
        update(modems).where(modems.c.name == name).values(state=state, error=error, updated_at=now)
    )


async def save_identity(
    conn: AsyncConnection, name: str, identity: ModemIdentity, *, now: datetime
) -> None:
    await conn.execute(
        update(modems)
        .where(modems.c.name == name)
        .values(
            imei=identity.imei,
            imsi=identity.imsi,
            iccid=identity.iccid,
            manufacturer=identity.manufacturer,
            model=identity.model,
            revision=identity.revision,
            updated_at=now,
        )
    )


def health_values(health: ModemHealth) -> dict[str, Any]:
    return {
        "signal_dbm": health.signal.dbm,
        "registration": health.registration.state,
        "operator": health.operator,
    }


async def save_health(
    conn: AsyncConnection, name: str, health: ModemHealth, *, state: str, now: datetime
) -> None:
    values = health_values(health)
    await conn.execute(
        update(modems)
        .where(modems.c.name == name)
        .values(**values, state=state, last_seen=now, updated_at=now, error=None)
    )
    await conn.execute(
        insert(modem_samples).values(
            modem=name,
            at=now,
            signal_dbm=values["signal_dbm"],
            registration=values["registration"],
            detail={"operator": health.operator, "rssi": health.signal.rssi},
        )
    )
