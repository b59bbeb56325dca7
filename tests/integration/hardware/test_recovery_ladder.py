"""The recovery ladder against simulated modems: a modem that stops answering for good climbs
probe -> reinit -> restart -> usb_reset (fake) -> quarantine; a healthy one is back at the
first rung; an unplugged one is absent and nothing is escalated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.events import LiveEvent, ModemRecovery
from gatewayd.metrics import recovery_step_count
from gatewayd.modem.at_driver import AtModem
from gatewayd.simulator import ModemHandle, SimNetwork
from gatewayd.worker.recovery import RecoveryLadder, RecoveryPolicy, Step

pytestmark = pytest.mark.timeout(60)
FAST = RecoveryPolicy(step_timeout=0.6, settle_seconds=0.0, quarantine_seconds=300.0)


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[tuple[SimNetwork, ModemHandle]]:
    network = SimNetwork()
    handles = await network.start(1, tmp_path / "dev")
    try:
        yield network, handles[0]
    finally:
        await network.close()


def ladder_for(
    name: str,
    handle: ModemHandle,
    events: list[LiveEvent],
    resets: list[str],
    now: list[float],
) -> RecoveryLadder:
    async def publish(event: LiveEvent) -> None:
        events.append(event)

    return RecoveryLadder(
        name,
        factory=lambda: AtModem(handle.device, name=name),
        device=lambda: handle.device,
        publish=publish,
        usb_reset=resets.append,
        policy=FAST,
        clock=lambda: now[0],
    )


async def test_hung_modem_climbs_every_rung_into_quarantine(
    sim: tuple[SimNetwork, ModemHandle],
) -> None:
    network, handle = sim
    events: list[LiveEvent] = []
    resets: list[str] = []
    now = [1000.0]
    ladder = ladder_for("hung", handle, events, resets, now)
    before = recovery_step_count("hung", "quarantine")
    network.fault(0, "hang", seconds=600)
    outcome = await ladder.recover("health poll timed out")
    assert all(isinstance(e, ModemRecovery) and e.name == "hung" for e in events)
    steps = [e for e in events if isinstance(e, ModemRecovery)]
    assert [e.step for e in steps] == ["probe", "reinit", "restart", "usb_reset", "quarantine"]
    assert steps[0].reason == "health poll timed out"
    assert steps[1].reason.startswith("probe failed")
    assert resets == [handle.device]
    assert outcome.step is Step.QUARANTINE and not outcome.recovered
    assert outcome.retry_after == 300.0
    assert recovery_step_count("hung", "quarantine") == before + 1
    assert ladder.breaker == "open"
    now[0] += 301
    assert ladder.breaker == "half_open"
    ladder.succeeded()
    assert ladder.breaker == "closed"


async def test_answering_modem_recovers_at_the_probe_then_escalates(
    sim: tuple[SimNetwork, ModemHandle],
) -> None:
    _, handle = sim
    events: list[LiveEvent] = []
    ladder = ladder_for("fine", handle, events, [], [0.0])
    first = await ladder.recover("session ended")
    assert first.recovered and first.step is Step.PROBE
    second = await ladder.recover("session ended again")
    assert second.recovered and second.step is Step.REINIT
    third = await ladder.recover("and again")
    assert third.recovered and third.step is Step.RESTART
    steps = [e.step for e in events if isinstance(e, ModemRecovery)]
    assert steps == ["probe", "reinit", "restart"]


async def test_unplugged_modem_is_absent_not_escalated(
    sim: tuple[SimNetwork, ModemHandle],
) -> None:
    network, handle = sim
    events: list[LiveEvent] = []
    ladder = ladder_for("gone", handle, events, [], [0.0])
    network.fault(0, "disconnect")
    outcome = await ladder.recover("device closed")
    assert outcome.absent and not outcome.recovered
    assert ladder.failed_rounds == 0
    assert [e.step for e in events if isinstance(e, ModemRecovery)] == ["probe"]
    network.reconnect(0)
    assert (await ladder.recover("device back")).recovered
