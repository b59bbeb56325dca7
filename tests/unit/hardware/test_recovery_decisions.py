"""The ladder's decisions with a scripted driver: which rung brings the modem back, what a
failed USB reset does, and that a failing bus does not stop recovery."""

from __future__ import annotations

from typing import Any

from gatewayd.events import LiveEvent, ModemRecovery
from gatewayd.modem.errors import AtTimeout, ModemDisconnected
from gatewayd.worker.recovery import RecoveryLadder, RecoveryPolicy, Step

POLICY = RecoveryPolicy(step_timeout=1.0, settle_seconds=0.0, quarantine_seconds=60.0)


class ScriptedDriver:
    """Answers probes only after `restarts_needed` restarts; can refuse to open."""

    world: dict[str, Any]

    def __init__(self, world: dict[str, Any]) -> None:
        self.world = world

    async def open(self) -> None:
        if self.world.get("absent"):
            raise ModemDisconnected("cannot open /dev/modem: no such file")

    async def close(self) -> None:
        self.world["closed"] = self.world.get("closed", 0) + 1

    async def probe(self) -> None:
        if self.world["restarts"] < self.world["restarts_needed"]:
            raise AtTimeout("AT: no answer")

    async def initialise(self) -> None:
        await self.probe()

    async def restart(self) -> None:
        self.world["restarts"] += 1


def ladder(world: dict[str, Any], *, usb: Any = None, bus_fails: bool = False) -> RecoveryLadder:
    async def publish(event: LiveEvent) -> None:
        assert isinstance(event, ModemRecovery) and event.name == "scripted"
        world.setdefault("events", []).append(event.step)
        if bus_fails:
            raise ConnectionError("bus away")

    return RecoveryLadder(
        "scripted",
        factory=lambda: ScriptedDriver(world),  # type: ignore[arg-type,return-value]
        device=lambda: "/dev/modem",
        publish=publish,
        usb_reset=usb,
        policy=POLICY,
    )


async def test_restart_brings_back_a_modem_that_needs_one() -> None:
    world: dict[str, Any] = {"restarts": 0, "restarts_needed": 1}
    outcome = await ladder(world, bus_fails=True).recover("timeout")
    assert outcome.recovered and outcome.step is Step.RESTART
    assert world["events"] == ["probe", "reinit", "restart"]
    assert world["closed"] == 4  # probe, reinit, restart, probe after the restart


async def test_failed_usb_reset_ends_in_quarantine() -> None:
    world: dict[str, Any] = {"restarts": 0, "restarts_needed": 5}

    def refuse(device: str) -> None:
        raise OSError(f"{device} is not on USB")

    outcome = await ladder(world, usb=refuse).recover("timeout")
    assert outcome.step is Step.QUARANTINE and outcome.retry_after == 60.0
    assert world["events"] == ["probe", "reinit", "restart", "usb_reset", "quarantine"]


async def test_without_usb_reset_the_rung_fails_and_quarantine_follows() -> None:
    world: dict[str, Any] = {"restarts": 0, "restarts_needed": 5}
    recovery = ladder(world)
    assert (await recovery.recover("timeout")).step is Step.QUARANTINE
    assert recovery.breaker == "open"


async def test_absent_port_backs_off_without_climbing() -> None:
    world: dict[str, Any] = {"restarts": 0, "restarts_needed": 0, "absent": True}
    recovery = ladder(world)
    delays = [(await recovery.recover("gone")).retry_after for _ in range(3)]
    assert delays == [1.0, 2.0, 5.0]
    assert world["events"] == ["probe", "probe", "probe"]
    world["absent"] = False
    assert (await recovery.recover("back")).step is Step.PROBE
