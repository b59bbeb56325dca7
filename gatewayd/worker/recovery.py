"""The escalating recovery ladder of one modem, and the circuit breaker that ends it.

After a failed session the worker asks `RecoveryLadder.recover()` what to do. Each round climbs
from a starting rung until one brings the modem back:

1. ``probe``: open the port and ask `AT` (the session failed, the modem may be fine);
2. ``reinit``: open and initialise from scratch (echo, PIN, PDU mode, indications);
3. ``restart``: `AT+CFUN=1,1`, let the modem boot, probe again;
4. ``usb_reset``: unbind/bind (or `USBDEVFS_RESET`) the USB device behind the port, probe again;
5. ``quarantine``: the breaker opens; no session for `quarantine_seconds`, then one trial
   session (half-open). Routing skips the modem meanwhile: only online workers claim messages.

Repeated failed rounds start higher (a modem that answers a probe but keeps failing sessions
gets re-initialised, then restarted). A port that cannot be opened at all is *absent*
(unplugged, re-enumerating): no rung can help, so the worker waits and looks for it again.
Every rung taken is a structlog event, a bus event ``modem.recovery`` and a Prometheus count.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from gatewayd.events import LiveEvent, ModemRecovery
from gatewayd.metrics import MODEM_RECOVERY_STEPS
from gatewayd.modem.errors import ModemDisconnected, ModemError
from gatewayd.modem.interface import ModemDriver

log = structlog.get_logger(__name__)


class Step(enum.StrEnum):
    PROBE = "probe"
    REINIT = "reinit"
    RESTART = "restart"
    USB_RESET = "usb_reset"
    QUARANTINE = "quarantine"


LADDER = (Step.PROBE, Step.REINIT, Step.RESTART, Step.USB_RESET, Step.QUARANTINE)
HIGHEST_START = LADDER.index(Step.RESTART)
ABSENT_RETRY = (1.0, 2.0, 5.0, 10.0, 30.0)

DriverFactory = Callable[[], ModemDriver]
Publish = Callable[[LiveEvent], Awaitable[None]]
UsbReset = Callable[[str], object]


@dataclass(frozen=True)
class RecoveryPolicy:
    step_timeout: float = 30.0
    """Longest time one rung may take (open, command, close)."""
    settle_seconds: float = 15.0
    """Wait after a restart or USB reset before probing: the modem boots and re-enumerates."""
    quarantine_seconds: float = 600.0
    """How long the breaker stays open before one trial session."""


@dataclass(frozen=True)
class RecoveryOutcome:
    recovered: bool
    """True when a rung brought the modem back: start a session now."""
    step: Step
    """The last rung taken."""
    retry_after: float
    """Seconds to wait before the next session."""
    absent: bool = False
    """The port could not be opened: look for the modem under another name."""


class RecoveryLadder:
    """See the module docstring. `device()` is the port path in use at the time of the call."""

    def __init__(
        self,
        name: str,
        *,
        factory: DriverFactory,
        device: Callable[[], str],
        publish: Publish,
        usb_reset: UsbReset | None = None,
        policy: RecoveryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.policy = policy or RecoveryPolicy()
        self.failed_rounds = 0
        self.quarantined_until: float | None = None
        self._factory = factory
        self._device = device
        self._publish = publish
        self._usb_reset = usb_reset
        self._clock = clock
        self._absent_count = 0
        self._log = log.bind(modem=name)

    @property
    def breaker(self) -> str:
        """``closed`` (normal), ``open`` (quarantined) or ``half_open`` (trial session due)."""
        if self.quarantined_until is None:
            return "closed"
        return "open" if self._clock() < self.quarantined_until else "half_open"

    def succeeded(self) -> None:
        """A session ran well: the next failure starts again from the bottom rung."""
        self.failed_rounds = 0
        self._absent_count = 0
        self.quarantined_until = None

    async def recover(self, reason: str) -> RecoveryOutcome:
        start = min(self.failed_rounds, HIGHEST_START)
        self.failed_rounds += 1
        for step in LADDER[start:]:
            await self._announce(step, reason)
            if step is Step.QUARANTINE:
                self.quarantined_until = self._clock() + self.policy.quarantine_seconds
                return RecoveryOutcome(False, step, self.policy.quarantine_seconds)
            try:
                async with asyncio.timeout(self.policy.step_timeout):
                    await self._attempt(step)
            except _Absent as absent:
                self.failed_rounds -= 1  # nothing was tried on the modem itself
                delay = ABSENT_RETRY[min(self._absent_count, len(ABSENT_RETRY) - 1)]
                self._absent_count += 1
                self._log.info("Modem port absent", error=str(absent), retry_after=delay)
                return RecoveryOutcome(False, step, delay, absent=True)
            except (ModemError, OSError, TimeoutError) as error:
                reason = f"{step} failed: {error or type(error).__name__}"
                continue
            self._absent_count = 0
            self._log.info("Modem recovered", step=str(step))
            return RecoveryOutcome(True, step, 0.0)
        raise AssertionError("the ladder ends in quarantine")

    async def _attempt(self, step: Step) -> None:
        if step is Step.PROBE:
            await self._with_driver(lambda modem: modem.probe())
        elif step is Step.REINIT:
            await self._with_driver(_initialise_and_probe)
        elif step is Step.RESTART:
            await self._with_driver(lambda modem: modem.restart())
            await self._settle_and_probe()
        elif step is Step.USB_RESET:
            if self._usb_reset is None:
                raise ModemError("no USB reset available")
            await asyncio.to_thread(self._usb_reset, self._device())
            await self._settle_and_probe()

    async def _settle_and_probe(self) -> None:
        if self.policy.settle_seconds > 0:
            await asyncio.sleep(self.policy.settle_seconds)
        await self._with_driver(lambda modem: modem.probe())

    async def _with_driver(self, action: Callable[[ModemDriver], Awaitable[None]]) -> None:
        modem = self._factory()
        try:
            await modem.open()
        except ModemDisconnected as error:
            raise _Absent(str(error)) from error
        try:
            await action(modem)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(modem.close(), 5.0)

    async def _announce(self, step: Step, reason: str) -> None:
        self._log.warning("Modem recovery step", step=str(step), reason=reason)
        MODEM_RECOVERY_STEPS.labels(modem=self.name, step=str(step)).inc()
        event = ModemRecovery(name=self.name, step=str(step), reason=reason)
        try:
            await self._publish(event)
        except Exception as error:  # the bus being away must not stop the recovery
            self._log.warning("Cannot publish recovery step", error=str(error))


class _Absent(Exception):
    """The port could not be opened."""


async def _initialise_and_probe(modem: ModemDriver) -> None:
    await modem.initialise()
    await modem.probe()
