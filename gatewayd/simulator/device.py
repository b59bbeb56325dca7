"""`SimulatedModem`: an AT command interpreter that behaves like a GSM modem on a serial line.

Bytes go in through :meth:`SimulatedModem.feed`; bytes come out through the writer given to
:meth:`SimulatedModem.attach` (a pty, or a list in tests). The interpreter owns the line
discipline of a real modem: command-line echo (on by default, ``ATE0`` turns it off), compound
commands, the exact ``\\r\\n> `` prompt of AT+CMGS with Ctrl-Z to send and ESC to cancel, one
command at a time (input that arrives while a send is in flight waits), and unsolicited result
codes held back while a command or a prompt is in progress. The command set is the `CommandSet`
given at construction (:data:`.commands.COMMAND_SET`), the network behind the radio the
`Uplink`: the interpreter imports neither.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gatewayd.simulator.atparse import AtRequest, AtSyntaxError, parse_command_line
from gatewayd.simulator.identity import ModemIdentity
from gatewayd.simulator.profiles import GENERIC, ModemProfile
from gatewayd.simulator.state import (
    DEFAULT_SMSC,
    AtError,
    FactorySettings,
    FaultState,
    IncomingPart,
    PromptRequest,
    Submission,
)
from gatewayd.simulator.storage import MessageStore, new_storages
from gatewayd.simulator.textmode import text_mode_cmt

CTRL_Z = 0x1A


class Cancellable(Protocol):
    def cancel(self) -> None: ...


def _call_later(
    loop: asyncio.AbstractEventLoop, delay: float, callback: Callable[[], None]
) -> Cancellable:
    return loop.call_later(delay, callback)


schedule_answer = _call_later
"""How an answer is scheduled ``delay`` seconds ahead. The event loop's timers wake up to a
millisecond late; benchmarks that need the answer on time install a precise scheduler
(``bench.simulate_precise``)."""
ESC = 0x1B
PROMPT = b"\r\n> "
MAX_LINE = 4096
MAX_PROMPT = 4096
_PROMPT_END = re.compile(rb"[\x1a\x1b]")
_LINE_NOISE = str.maketrans("", "", "\n\x1b\x00")
# Junk for the garbage fault: no letters of OK/ERROR, no '+' and no '>', so it cannot pass for
# a result code or a prompt by accident.
_GARBAGE_ALPHABET = bytes(b for b in range(256) if chr(b) not in "OKERor+>")

Writer = Callable[[bytes], None]
Handler = Callable[["SimulatedModem", AtRequest], "list[str] | PromptRequest"]


@dataclass(frozen=True)
class CommandSet:
    """The AT command set the line discipline dispatches to."""

    handlers: Mapping[str, Handler]
    """Canonical command name -> handler; a name not here is answered as the profile says."""
    finish_prompt: Callable[[SimulatedModem, PromptRequest, bytes], None]
    """Ctrl-Z arrived after the payload of a ``> `` prompt."""
    registration_urcs: Callable[[SimulatedModem], list[str]]
    """The +CREG/+CGREG/+CEREG codes to emit after registration changed."""


class Uplink(Protocol):
    """What a modem needs from the network behind its radio."""

    def accept_submission(self, modem: SimulatedModem, submission: Submission) -> None:
        """Take one submitted part or raise `SubmissionRejected`."""

    def submission_answered(self, modem: SimulatedModem, submission: Submission) -> None:
        """The modem has answered ``+CMGS`` for ``submission`` (status report timing)."""

    def storage_freed(self, modem: SimulatedModem) -> None:
        """Messages were deleted: parts waiting because the storage was full may come now."""


class SimulatedModem:
    """One simulated modem: identity, settings, storages, faults and the AT line discipline."""

    def __init__(
        self,
        identity: ModemIdentity,
        uplink: Uplink,
        *,
        commands: CommandSet,
        latency_ms: float = 0.0,
        capacity: int = 30,
        smsc: str = DEFAULT_SMSC,
        seed: int | None = None,
        profile: ModemProfile = GENERIC,
    ) -> None:
        self.identity = identity
        self.profile = profile
        self.commands_answered = 0
        self.ussd_menu: str | None = None
        self.noise_enabled = profile.noise_at_boot
        self.uplink = uplink
        self.commands = commands
        self.latency = latency_ms / 1000.0
        self.smsc = smsc
        self.smsc_type = 145
        self.settings = self.factory_settings()
        self.faults = FaultState()
        self.storages: dict[str, MessageStore] = new_storages(capacity, profile.storages)
        self.pin_entered = False
        self.s_registers: dict[int, int] = {}
        self.next_mr = 0
        self.rng = random.Random(identity.index if seed is None else seed)
        self._writer: Writer | None = None
        self._line = bytearray()
        self._prompt: PromptRequest | None = None
        self._prompt_data = bytearray()
        self._busy = False
        self._held_input = bytearray()
        self._fed_at = time.monotonic()
        self._held_urcs: list[bytes] = []
        self._pending: Cancellable | None = None
        self._hang_timer: asyncio.TimerHandle | None = None
        self.hang_over = asyncio.Event()

    # ---- wiring ---------------------------------------------------------------------------

    @property
    def index(self) -> int:
        return self.identity.index

    def attach(self, writer: Writer) -> None:
        self._writer = writer
        self.boot_codes()

    def factory_settings(self) -> FactorySettings:
        """Power-on settings: the profile decides the memories and the SMS service."""
        storage = self.profile.default_storage
        return FactorySettings(
            mem1=storage, mem2=storage, mem3=storage, csms=self.profile.csms_service
        )

    def boot_codes(self) -> None:
        """What the modem says when it starts (RDY, SMS Ready, ^SIMST...), per its profile."""
        for line in self.profile.boot_urcs:
            self.unsolicited(line)

    def detach(self) -> None:
        self._writer = None

    def power_cycle(self) -> None:
        """Back to power-on state: default settings, no command in progress. Storages stay."""
        self.settings = self.factory_settings()
        self.noise_enabled = self.profile.noise_at_boot
        self.pin_entered = False
        self.s_registers.clear()
        self._line.clear()
        self._prompt = None
        self._prompt_data.clear()
        self._busy = False
        self._held_input.clear()
        self._held_urcs.clear()
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def restart_after_answer(self) -> None:
        """AT+CFUN=1,1: answer OK, then come back as after power-on."""

        def restart() -> None:
            self.power_cycle()
            self.boot_codes()

        asyncio.get_running_loop().call_soon(restart)

    # ---- state queries used by the command handlers ---------------------------------------

    @property
    def hung(self) -> bool:
        return self._hang_timer is not None

    @property
    def sim_locked(self) -> bool:
        return self.faults.pin_required and not self.pin_entered

    @property
    def registered(self) -> bool:
        return not (self.faults.no_network or self.sim_locked or self.settings.fun != 1)

    def encode_string(self, value: str) -> str:
        """A string parameter in the TE character set chosen by AT+CSCS."""
        if self.settings.cscs == "UCS2":
            return value.encode("utf-16-be").hex().upper()
        return value

    def decode_string(self, value: str) -> str:
        if self.settings.cscs == "UCS2" and value and len(value) % 4 == 0:
            try:
                return bytes.fromhex(value).decode("utf-16-be")
            except ValueError:
                return value
        return value

    def cme_error(self, code: int) -> AtError:
        if self.settings.cmee == 0:
            return AtError("ERROR")
        return AtError(f"+CME ERROR: {code}")

    # ---- input ----------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes from the serial line."""
        self._fed_at = time.monotonic()
        if self.hung:
            return
        if self._busy:
            self._held_input += data
            return
        position = 0
        while position < len(data):
            if self._prompt is not None:
                position = self._feed_prompt(data, position)
            else:
                end = data.find(b"\r", position)
                if end < 0:
                    self._line += data[position:]
                    if len(self._line) > MAX_LINE:
                        self._line.clear()
                    return
                self._line += data[position:end]
                position = end + 1
                line = bytes(self._line)
                self._line.clear()
                self._execute_line(line)
            if self._busy:
                self._held_input += data[position:]
                return

    def _feed_prompt(self, data: bytes, position: int) -> int:
        match = _PROMPT_END.search(data, position)
        end = match.start() if match else len(data)
        chunk = data[position:end]
        if chunk:
            self._prompt_data += chunk
            if self.settings.echo:
                self._emit(chunk)
            if self.settings.cmgf == 1 and b"\r" in chunk:
                self._emit(PROMPT * chunk.count(b"\r"))
            if len(self._prompt_data) > MAX_PROMPT:
                self._prompt = None
                self._prompt_data.clear()
                self._final("+CMS ERROR: 304")
                return end
        if match is None:
            return end
        prompt, payload = self._prompt, bytes(self._prompt_data)
        self._prompt = None
        self._prompt_data.clear()
        if data[end] == ESC:
            self._final("OK")
        elif prompt is not None:
            self.commands.finish_prompt(self, prompt, payload)
        return end + 1

    def _execute_line(self, raw: bytes) -> None:
        text = raw.decode("latin-1").translate(_LINE_NOISE)
        while "\b" in text:
            cut = text.index("\b")
            text = text[: max(cut - 1, 0)] + text[cut + 1 :]
        if text.strip() == "":
            return
        if self.settings.echo:
            self._emit(text.encode("latin-1") + b"\r")
        if text.lstrip()[:2].upper() != "AT":
            return  # not a command line: a modem ignores it
        try:
            requests = parse_command_line(text)
        except AtSyntaxError:
            self._final("ERROR")
            return
        blocks: list[str] = []
        for request in requests:
            handler = self.commands.handlers.get(request.name)
            try:
                if handler is None:
                    raise AtError(self.profile.unknown_command)
                outcome = handler(self, request)
            except AtError as error:
                self._respond(blocks, error.final)
                return
            except AtSyntaxError:
                self._respond(blocks, "ERROR")
                return
            if isinstance(outcome, PromptRequest):
                self._emit("".join(blocks).encode("latin-1") + PROMPT)
                self._prompt = outcome
                return
            if outcome:
                blocks.append("\r\n" + "\r\n".join(outcome) + "\r\n")
        self._respond(blocks, "OK")

    # ---- output ---------------------------------------------------------------------------

    def _emit(self, data: bytes) -> None:
        if self._writer is not None and not self.hung:
            self._writer(data)

    def _respond(self, blocks: list[str], final: str) -> None:
        self._emit(("".join(blocks) + "\r\n" + final + "\r\n").encode("latin-1"))
        self._flush_urcs()
        self._vendor_noise()

    def _vendor_noise(self) -> None:
        """Unasked vendor codes between answers (Huawei ^RSSI, Quectel +QIND), per profile."""
        profile = self.profile
        if not profile.noise_every or not profile.noise_urcs or not self.noise_enabled:
            return
        self.commands_answered += 1
        if self.commands_answered % profile.noise_every == 0:
            turn = self.commands_answered // profile.noise_every
            self.unsolicited(profile.noise_urcs[turn % len(profile.noise_urcs)])

    def _final(self, final: str) -> None:
        self._respond([], final)

    def answer_later(
        self, lines: list[str], final: str, then: Callable[[], None] | None = None
    ) -> None:
        """Answer ``latency`` after the command's bytes arrived (the time spent decoding and
        recording it is part of the latency, as in a modem); input arriving meanwhile waits
        its turn."""

        def answer() -> None:
            self._pending = None
            self._busy = False
            blocks = ["\r\n" + "\r\n".join(lines) + "\r\n"] if lines else []
            self._respond(blocks, final)
            if then is not None:
                then()
            held = bytes(self._held_input)
            self._held_input.clear()
            if held:
                self.feed(held)

        if self.latency <= 0:
            answer()
            return
        self._busy = True
        delay = max(0.0, self._fed_at + self.latency - time.monotonic())
        self._pending = schedule_answer(asyncio.get_running_loop(), delay, answer)

    def final_now(self, final: str) -> None:
        self._final(final)

    def respond_now(self, lines: list[str], final: str) -> None:
        self._respond(["\r\n" + "\r\n".join(lines) + "\r\n"] if lines else [], final)

    def unsolicited(self, *lines: str) -> None:
        """Emit an unsolicited result code now, or after the command or prompt in progress."""
        data = ("\r\n" + "\r\n".join(lines) + "\r\n").encode("latin-1")
        if self._busy or self._prompt is not None or self.hung:
            self._held_urcs.append(data)
        else:
            self._emit(data)

    def _flush_urcs(self) -> None:
        if self._held_urcs and not self._busy and self._prompt is None and not self.hung:
            held, self._held_urcs = self._held_urcs, []
            for data in held:
                self._emit(data)

    # ---- network side ---------------------------------------------------------------------

    def receive(self, part: IncomingPart) -> bool:
        """The network delivers a PDU; False when it had to be stored and storage was full."""
        _mode, mt, _bm, ds, _bfr = self.settings.cnmi
        if part.kind == "deliver":
            if mt in (2, 3):
                if self.settings.cmgf == 1:
                    self.unsolicited(*text_mode_cmt(part.pdu))
                else:
                    self.unsolicited(f"+CMT: ,{part.tpdu_length}", part.pdu)
                return True
            storage_name = self.settings.mem3
            index = self.storages[storage_name].store(part.pdu, part.tpdu_length)
            if index is None:
                return False
            if mt == 1:
                self.unsolicited(f'+CMTI: "{storage_name}",{index}')
            return True
        if ds == 1:
            self.unsolicited(f"+CDS: {part.tpdu_length}", part.pdu)
            return True
        storage_name = "SR" if ds == 2 and "SR" in self.storages else self.settings.mem3
        index = self.storages[storage_name].store(part.pdu, part.tpdu_length)
        if index is None:
            return False
        if ds == 2:
            self.unsolicited(f'+CDSI: "{storage_name}",{index}')
        return True

    def take_mr(self) -> int:
        mr = self.next_mr
        self.next_mr = (self.next_mr + 1) % 256
        return mr

    # ---- faults ---------------------------------------------------------------------------

    def start_hang(self, seconds: float) -> None:
        self.hang_over.clear()
        self.faults.hang_until = time.monotonic() + seconds
        if self._hang_timer is not None:
            self._hang_timer.cancel()
        self._hang_timer = asyncio.get_running_loop().call_later(seconds, self._hang_over)

    def _hang_over(self) -> None:
        self._hang_timer = None
        self.hang_over.set()
        self._held_input.clear()
        self._flush_urcs()

    def emit_garbage(self, count: int) -> None:
        junk = bytes(self.rng.choice(_GARBAGE_ALPHABET) for _ in range(count))
        self._emit(junk)

    def set_no_network(self, active: bool) -> None:
        was_registered = self.registered
        self.faults.no_network = active
        self.registration_changed(was_registered)

    def registration_changed(self, was_registered: bool) -> None:
        """Emit +CREG/+CGREG per AT+CREG=n when registration changed."""
        if was_registered == self.registered:
            return
        for line in self.commands.registration_urcs(self):
            self.unsolicited(line)

    def clear_faults(self) -> None:
        was_registered = self.registered
        if self._hang_timer is not None:
            self._hang_timer.cancel()
            self._hang_timer = None
            self.hang_over.set()
        self.faults = FaultState()
        self._flush_urcs()
        self.registration_changed(was_registered)

    def now(self) -> datetime:
        return datetime.now().astimezone().replace(microsecond=0)
