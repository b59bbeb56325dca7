"""SIM care for one modem: the balance checked by USSD on a schedule, with a low-credit alert,
and the SIM's message memory kept from filling up.

`SimCare.run` is one of a session's side loops. Every `interval` it reads how full the memories
are (`AT+CPMS?`, Gammu's `GetSMSStatus`) and runs the storage sweep (store, then delete) when
one is above `STORAGE_SWEEP_FRACTION`. When the modem has `balance_ussd`, the balance is asked
every `balance_interval`, parsed with `balance_pattern`, kept in the `modems` table, and below
`low_balance` (kept beside it, for the web side's low-credit alert) raises the
``"Low credit"`` warning, a ``modem.low_balance`` bus event and a
Prometheus count.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from gatewayd.config import ModemSettings
from gatewayd.events import LiveEvent, ModemLowBalance
from gatewayd.metrics import LOW_BALANCE_ALERTS
from gatewayd.modem.errors import ModemError
from gatewayd.modem.interface import ModemDriver
from gatewayd.queue.modem_state import save_balance
from gatewayd.store import Database, DatabaseUnavailable, utc_now

log = structlog.get_logger(__name__)

STORAGE_SWEEP_FRACTION = 0.8
DEFAULT_BALANCE_PATTERN = r"(?P<balance>-?\d(?:[\d.,]*\d)?)"
Publish = Callable[[LiveEvent], Awaitable[None]]
Sweep = Callable[[], Awaitable[None]]


def parse_amount(text: str) -> float | None:
    """`12,34` / `12.34` / `1.234,56` / `1,234.56` / `1 234,56` -> a float; None if no number."""
    # a sentence's full stop is no decimal point: "R$ 12,34." -> 12.34
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").strip(".,")
    if not re.fullmatch(r"-?[\d.,]+", cleaned) or not any(c.isdigit() for c in cleaned):
        return None
    last_comma, last_dot = cleaned.rfind(","), cleaned.rfind(".")
    decimal = "," if last_comma > last_dot else "."
    thousands = "." if decimal == "," else ","
    integer_part, _, fraction = cleaned.rpartition(decimal)
    if not integer_part or (len(fraction) == 3 and thousands not in cleaned and decimal == ","):
        integer_part, fraction = cleaned, ""
    number = integer_part.replace(thousands, "").replace(decimal, "")
    try:
        return float(f"{number}.{fraction}" if fraction else number)
    except ValueError:
        return None


def parse_balance(answer: str, pattern: str | None = None) -> float | None:
    """The amount found in the operator's answer by `pattern` (group ``balance``)."""
    match = re.search(pattern or DEFAULT_BALANCE_PATTERN, answer)
    if match is None:
        return None
    return parse_amount(match.group("balance"))


@dataclass
class BalanceReading:
    balance: float | None
    text: str
    low: bool


class SimCare:
    """See the module docstring."""

    def __init__(
        self,
        config: ModemSettings,
        *,
        db: Database,
        publish: Publish,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.db = db
        self.publish = publish
        self.clock = clock
        self.next_balance_check = clock()
        self._log = log.bind(modem=config.name)

    async def run(
        self, modem: ModemDriver, over: asyncio.Event, sweep: Sweep, interval: float
    ) -> None:
        while not over.is_set():
            await self.check_storage(modem, sweep)
            if self.config.balance_ussd and self.clock() >= self.next_balance_check:
                await self.check_balance(modem)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(over.wait(), interval)

    async def check_storage(self, modem: ModemDriver, sweep: Sweep) -> bool:
        """Sweep when a memory is above the threshold; True when it did."""
        try:
            usages = await modem.storage_usage()
        except ModemError as error:
            self._log.info("Storage usage unknown", error=str(error))
            return False
        full = [u for u in usages if u.fraction >= STORAGE_SWEEP_FRACTION]
        if not full:
            return False
        self._log.warning(
            "SIM storage nearly full; sweeping",
            storages={u.storage: f"{u.used}/{u.total}" for u in full},
        )
        await sweep()
        return True

    async def check_balance(self, modem: ModemDriver) -> BalanceReading | None:
        code = self.config.balance_ussd
        if code is None:
            return None
        self.next_balance_check = self.clock() + self.config.balance_interval
        try:
            reply = await modem.ussd(code)
        except ModemError as error:
            self._log.warning("Balance check failed", code=code, error=str(error))
            return None
        text = reply.text or ""
        balance = parse_balance(text, self.config.balance_pattern)
        threshold = self.config.low_balance
        low = balance is not None and threshold is not None and balance < threshold
        await self._save(balance, text)
        if balance is None:
            self._log.warning("Balance not found in the answer", code=code, answer=text)
        elif low and threshold is not None:
            self._log.warning("Low credit", balance=balance, threshold=threshold, answer=text)
            LOW_BALANCE_ALERTS.labels(modem=self.config.name).inc()
            with contextlib.suppress(Exception):
                await self.publish(
                    ModemLowBalance(name=self.config.name, balance=balance, threshold=threshold)
                )
        else:
            self._log.info("Balance checked", balance=balance)
        return BalanceReading(balance, text, low)

    async def _save(self, balance: float | None, text: str) -> None:
        try:
            async with self.db.begin() as conn:
                await save_balance(
                    conn,
                    self.config.name,
                    balance,
                    text,
                    now=utc_now(),
                    low_balance=self.config.low_balance,
                )
        except DatabaseUnavailable as error:
            self._log.warning("Cannot record the balance", error=str(error))
