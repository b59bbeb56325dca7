"""SIM care on simulated modems: multi-step USSD menus, the balance check with its low-credit
alert (stored in the modems table), and the memory sweep when the SIM fills up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from gatewayd.config import ModemSettings
from gatewayd.events import LiveEvent, ModemLowBalance
from gatewayd.metrics import LOW_BALANCE_ALERTS
from gatewayd.modem.at_driver import AtModem
from gatewayd.queue.modem_state import register_modem
from gatewayd.simulator import ModemHandle, SimNetwork
from gatewayd.store import Database, modems, utc_now
from gatewayd.worker.sim_care import SimCare

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[tuple[SimNetwork, list[ModemHandle]]]:
    network = SimNetwork(capacity=10)
    handles = await network.start(1, tmp_path / "dev")
    try:
        yield network, handles
    finally:
        await network.close()


async def test_menu_session_continues_with_a_choice(
    sim: tuple[SimNetwork, list[ModemHandle]],
) -> None:
    _, handles = sim
    async with AtModem(handles[0].device) as modem:
        await modem.initialise()
        menu = await modem.ussd("*111#", keep_session=True)
        assert menu.status == 1 and menu.status_name == "action_required"
        assert menu.text is not None and "1-Saldo" in menu.text
        choice = await modem.ussd("1")
        assert choice.status == 0
        assert choice.text is not None and choice.text.startswith("Saldo")
        closed = await modem.ussd("*111#")  # without keep_session the menu is left at once
        assert closed.status == 1
        assert (await modem.ussd("1")).text == "Servico indisponivel."


async def test_low_balance_is_logged_published_counted_and_stored(
    sim: tuple[SimNetwork, list[ModemHandle]], db: Database
) -> None:
    _, handles = sim
    config = ModemSettings(
        name="care0",
        device=handles[0].device,
        balance_ussd="*100#",
        balance_pattern=r"R\$ (?P<balance>[\d.,]+)",
        low_balance=20.0,
    )
    async with db.begin() as conn:
        await register_modem(
            conn, name="care0", host="h", device=config.device, state="online", now=utc_now()
        )
    events: list[LiveEvent] = []

    async def publish(event: LiveEvent) -> None:
        events.append(event)

    care = SimCare(config, db=db, publish=publish, clock=lambda: 0.0)
    before = LOW_BALANCE_ALERTS.labels(modem="care0")._value.get()
    async with AtModem(handles[0].device) as modem:
        await modem.initialise()
        with capture_logs() as logs:
            reading = await care.check_balance(modem)
    assert reading is not None and reading.balance == 12.34 and reading.low
    assert any(entry["event"] == "Low credit" and entry["log_level"] == "warning" for entry in logs)
    assert events == [ModemLowBalance(name="care0", balance=12.34, threshold=20.0)]
    assert LOW_BALANCE_ALERTS.labels(modem="care0")._value.get() == before + 1
    assert care.next_balance_check == config.balance_interval
    async with db.read() as conn:
        row = (await conn.execute(select(modems).where(modems.c.name == "care0"))).one()
    assert row.balance == 12.34
    assert row.balance_text.startswith("Saldo: R$ 12,34")
    assert row.balance_at is not None


async def test_nearly_full_sim_is_swept(sim: tuple[SimNetwork, list[ModemHandle]]) -> None:
    network, handles = sim
    swept: list[int] = []

    async def sweep() -> None:
        swept.append(1)

    config = ModemSettings(name="full0", device=handles[0].device)
    care = SimCare(config, db=None, publish=None)  # type: ignore[arg-type]
    async with AtModem(handles[0].device) as modem:
        await modem.prepare()  # CNMI untouched: messages are stored silently
        for number in range(7):
            network.inject_incoming(0, "+5511987654321", f"m{number}")
        assert not await care.check_storage(modem, sweep)
        network.inject_incoming(0, "+5511987654321", "the eighth")
        usage = await modem.storage_usage()
        assert usage[0].storage == "SM" and (usage[0].used, usage[0].total) == (8, 10)
        assert await care.check_storage(modem, sweep)
    assert swept == [1]
