"""`SimNetwork`: the simulated GSM network that a set of simulated modems share.

It numbers the modems, takes their submitted SMS parts (recording each in the ledger), delivers
parts addressed to another simulated modem as SMS-DELIVER PDUs, sends status reports
``report_delay_ms`` after the ``+CMGS`` answer of a submit that asked for one, injects incoming
SMS, and applies faults. Parts that cannot be handed over (device unplugged, storage full) wait
at the network and are retried when the modem returns or frees storage, as an SMSC would.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gatewayd.simulator.commands import COMMAND_SET
from gatewayd.simulator.device import SimulatedModem
from gatewayd.simulator.faults import FaultRequest, parse_fault
from gatewayd.simulator.identity import identity_for
from gatewayd.simulator.ledger import Ledger, LedgerEntry
from gatewayd.simulator.profiles import GENERIC, ModemProfile, profile_named
from gatewayd.simulator.pty import PtyPort
from gatewayd.simulator.state import (
    DEFAULT_SMSC,
    IncomingPart,
    Submission,
    SubmissionRejected,
)
from gatewayd.sms import encode_deliver, encode_status_report

DEFAULT_FIRST_NUMBER = "+5511990000001"
UNASSIGNED_NUMBER = 1
STATUS_DELIVERED = 0
_MIN_NATIONAL_DIGITS = 8
ProfileChoice = ModemProfile | str | Sequence[ModemProfile | str]


def profiles_for(choice: ProfileChoice) -> tuple[ModemProfile, ...]:
    """One profile for every modem, or a list taken in turn (modem i gets entry i mod n)."""
    items = [choice] if isinstance(choice, ModemProfile | str) else list(choice)
    if not items:
        raise ValueError("at least one modem profile is needed")
    return tuple(item if isinstance(item, ModemProfile) else profile_named(item) for item in items)


@dataclass(frozen=True)
class ModemHandle:
    """A started simulated modem, as `gatewayd simulate` prints it."""

    index: int
    device: str
    number: str
    imei: str
    imsi: str
    modem: SimulatedModem

    def to_json(self) -> dict[str, str]:
        return {"device": self.device, "number": self.number, "imei": self.imei, "imsi": self.imsi}


class SimNetwork:
    """Simulated modems on one simulated network; see the package docstring for the API."""

    def __init__(
        self,
        *,
        first_number: str = DEFAULT_FIRST_NUMBER,
        latency_ms: float = 0.0,
        report_delay_ms: float = 0.0,
        ledger_path: Path | str | None = None,
        smsc: str = DEFAULT_SMSC,
        capacity: int = 30,
        profile: ProfileChoice = GENERIC,
    ) -> None:
        identity_for(first_number, 0)  # validates the number
        self.profiles = profiles_for(profile)
        self.first_number = first_number
        self.latency_ms = latency_ms
        self.report_delay = report_delay_ms / 1000.0
        self.smsc = smsc
        self.capacity = capacity
        self.modems: list[SimulatedModem] = []
        self.ports: dict[int, PtyPort] = {}
        self._ledger = Ledger(ledger_path)
        self._by_digits: dict[str, SimulatedModem] = {}
        self._waiting: dict[int, deque[IncomingPart]] = {}
        self._fragments: dict[tuple[int, int, int, int], dict[int, str]] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._next_incoming_ref = 0

    # ---- set-up ---------------------------------------------------------------------------

    def add_modems(self, count: int) -> list[SimulatedModem]:
        """New modems without a pty (feed them bytes directly); numbered after existing ones."""
        added = []
        for _ in range(count):
            identity = identity_for(self.first_number, len(self.modems))
            modem = SimulatedModem(
                identity,
                self,
                commands=COMMAND_SET,
                latency_ms=self.latency_ms,
                capacity=self.capacity,
                smsc=self.smsc,
                profile=self.profiles[identity.index % len(self.profiles)],
            )
            self.modems.append(modem)
            self._by_digits[identity.number.lstrip("+")] = modem
            self._waiting[identity.index] = deque()
            added.append(modem)
        return added

    async def start(self, count: int, directory: Path | str) -> list[ModemHandle]:
        """``count`` modems on ptys, linked as ``directory/modem{i}`` (directory is created)."""
        folder = Path(directory)
        os.makedirs(folder, exist_ok=True)
        handles = []
        for modem in self.add_modems(count):
            port = PtyPort(modem, folder / f"modem{modem.index}")
            port.open()
            self.ports[modem.index] = port
            identity = modem.identity
            handles.append(
                ModemHandle(
                    identity.index,
                    str(port.link),
                    identity.number,
                    identity.imei,
                    identity.imsi,
                    modem,
                )
            )
        return handles

    async def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for port in self.ports.values():
            port.close()
        self._ledger.close()

    # ---- ledger ---------------------------------------------------------------------------

    @property
    def ledger(self) -> list[LedgerEntry]:
        return self._ledger.entries

    async def wait_for_ledger(self, count: int, timeout: float = 5.0) -> list[LedgerEntry]:
        return await self._ledger.wait_for(count, timeout)

    # ---- the Uplink the modems call -------------------------------------------------------

    def accept_submission(self, modem: SimulatedModem, submission: Submission) -> None:
        digits = submission.recipient.lstrip("+")
        if not digits.isdigit() or not 3 <= len(digits) <= 15:
            raise SubmissionRejected(UNASSIGNED_NUMBER)
        concat = submission.concat
        self._ledger.append(
            {
                "modem": modem.index,
                "from": modem.identity.number,
                "to": submission.recipient,
                "mr": submission.mr,
                "text": submission.text,
                "concat": None
                if concat is None
                else {"ref": concat.ref, "total": concat.total, "seq": concat.seq},
                "status_report": submission.status_report,
                # When the network took the part, to the microsecond (the SCTS has seconds only).
                "at": datetime.now().astimezone().isoformat(timespec="microseconds"),
            }
        )
        target = self.modem_for_number(submission.recipient)
        if target is not None and submission.text is not None:
            self._route(modem, target, submission)

    def submission_answered(self, modem: SimulatedModem, submission: Submission) -> None:
        if submission.status_report:
            self._later(self.report_delay, self._send_report, modem, submission)

    def storage_freed(self, modem: SimulatedModem) -> None:
        self._hand_over_waiting(modem)

    # ---- routing --------------------------------------------------------------------------

    def modem_for_number(self, number: str) -> SimulatedModem | None:
        digits = number.lstrip("+")
        found = self._by_digits.get(digits)
        if found is None and not number.startswith("+") and len(digits) >= _MIN_NATIONAL_DIGITS:
            matches = [m for d, m in self._by_digits.items() if d.endswith(digits)]
            found = matches[0] if len(matches) == 1 else None
        return found

    def _route(self, sender: SimulatedModem, target: SimulatedModem, part: Submission) -> None:
        """Deliver one submitted part; the parts of a long message go once all have arrived."""
        assert part.text is not None
        encoding = part.encoding if part.encoding in ("gsm7", "ucs2") else "auto"
        if part.concat is None:
            self._deliver_text(sender, target, part.text, encoding, None)
            return
        key = (sender.index, target.index, part.concat.ref, part.concat.total)
        fragments = self._fragments.setdefault(key, {})
        fragments[part.concat.seq] = part.text
        if len(fragments) == part.concat.total:
            del self._fragments[key]
            text = "".join(fragments[seq] for seq in sorted(fragments))
            self._deliver_text(sender, target, text, encoding, part.concat.ref)

    def _deliver_text(
        self,
        sender: SimulatedModem,
        target: SimulatedModem,
        text: str,
        encoding: str,
        concat_ref: int | None,
    ) -> None:
        try:
            parts = encode_deliver(
                sender.identity.number,
                text,
                scts=sender.now(),
                smsc=self.smsc,
                encoding=encoding,
                concat_ref=concat_ref,
            )
        except ValueError:
            return
        for part in parts:
            self._hand_over(target, IncomingPart("deliver", part.pdu, part.tpdu_length))

    def _send_report(self, modem: SimulatedModem, submission: Submission) -> None:
        report = encode_status_report(
            submission.recipient,
            submission.mr,
            scts=submission.submitted_at,
            discharge_time=modem.now(),
            status=STATUS_DELIVERED,
            smsc=self.smsc,
        )
        self._hand_over(modem, IncomingPart("report", report.pdu, report.tpdu_length))

    def _hand_over(self, modem: SimulatedModem, part: IncomingPart) -> None:
        self._waiting[modem.index].append(part)
        self._hand_over_waiting(modem)

    def _hand_over_waiting(self, modem: SimulatedModem) -> None:
        port = self.ports.get(modem.index)
        if port is not None and not port.is_open:
            return
        waiting = self._waiting[modem.index]
        while waiting and modem.receive(waiting[0]):
            waiting.popleft()

    def _later(self, delay: float, callback: Any, *args: Any) -> None:
        loop = asyncio.get_running_loop()
        holder: list[asyncio.TimerHandle] = []

        def run() -> None:
            self._timers.discard(holder[0])
            callback(*args)

        holder.append(loop.call_later(max(delay, 0.0), run))
        self._timers.add(holder[0])

    # ---- incoming SMS and faults ----------------------------------------------------------

    def inject_incoming(self, index: int, sender: str, text: str) -> int:
        """An SMS from ``sender`` to modem ``index`` (several parts when long); part count."""
        target = self.modems[index]
        ref = self._next_incoming_ref
        self._next_incoming_ref = (ref + 1) % 256
        parts = encode_deliver(sender, text, scts=target.now(), smsc=self.smsc, concat_ref=ref)
        for part in parts:
            self._hand_over(target, IncomingPart("deliver", part.pdu, part.tpdu_length))
        return len(parts)

    def fault(self, index: int, kind: str, **params: Any) -> None:
        """Apply a fault to modem ``index``; FaultError for a bad kind or parameter."""
        self.apply_fault(index, parse_fault(kind, params))

    def apply_fault(self, index: int, request: FaultRequest) -> None:
        modem = self.modems[index]
        port = self.ports.get(index)
        if request.kind == "cms_error":
            modem.faults.cms_error_code = request.code
            modem.faults.cms_error_count = request.count
        elif request.kind == "hang":
            assert request.seconds is not None
            modem.start_hang(request.seconds)
        elif request.kind == "garbage":
            modem.emit_garbage(request.size)
        elif request.kind == "no_network":
            modem.set_no_network(True)
        elif request.kind == "sim_pin":
            was_registered = modem.registered
            modem.faults.pin_required = True
            modem.pin_entered = False
            modem.registration_changed(was_registered)
        elif request.kind == "disconnect":
            if port is not None and port.is_open:
                port.close()
                modem.power_cycle()
                if request.seconds is not None:
                    self._later(request.seconds, self.reconnect, index)
        elif request.kind == "clear":
            modem.clear_faults()
            self.reconnect(index)

    def reconnect(self, index: int) -> None:
        """An unplugged modem comes back under its old device name."""
        port = self.ports.get(index)
        if port is not None and not port.is_open:
            port.open()
            self._hand_over_waiting(self.modems[index])

    def state(self) -> list[dict[str, Any]]:
        """Each modem's identity, connection, faults and settings, for GET /modems."""
        return [modem_state(modem, self.ports.get(modem.index)) for modem in self.modems]


def modem_state(modem: SimulatedModem, port: PtyPort | None) -> dict[str, Any]:
    faults = modem.faults
    settings = modem.settings
    return {
        "index": modem.index,
        "profile": modem.profile.name,
        "number": modem.identity.number,
        "imei": modem.identity.imei,
        "imsi": modem.identity.imsi,
        "device": str(port.link) if port is not None else None,
        "connected": port.is_open if port is not None else None,
        "registered": modem.registered,
        "sim_locked": modem.sim_locked,
        "hung": modem.hung,
        "cms_error": {"code": faults.cms_error_code, "count": faults.cms_error_count}
        if faults.cms_error_count
        else None,
        "echo": settings.echo,
        "cnmi": list(settings.cnmi),
        "storage": {name: store.used for name, store in modem.storages.items()},
        "next_mr": modem.next_mr,
    }
