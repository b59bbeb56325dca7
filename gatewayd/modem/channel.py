"""One AT command in flight per modem, each with its own timeout, and unsolicited dispatch.

`AtChannel` is the `LineSink` of the transport. It serialises commands with an `asyncio.Lock`,
collects the answer lines of the pending command, turns final result codes into values or
`ModemError`s, and hands unsolicited codes to listeners the moment they arrive, even in the
middle of a command. The prompt exchange of `AT+CMGS` runs shielded from cancellation. After a
timeout, a cancelled command or an absent prompt, the next command first resynchronises
(ESC, `AT` -> `OK`, wait for the line to go quiet).

A prompt exchange may be followed by another (`follow_with_prompt`): the next `AT+CMGS` is
written by the handler of the current one's `OK`, without waiting for any task to run, and
the PDU by the handler of its prompt. It is written only if the current exchange ended with
`OK` and no other command waits for the line; otherwise it is refused (`NotFollowed`) unwritten.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gatewayd.modem.commands import spec_for
from gatewayd.modem.errors import (
    AtCommandError,
    AtTimeout,
    ErrorKind,
    ModemDisconnected,
    NotFollowed,
    PromptTimeout,
    SendFenced,
    SendGuard,
    SendOutcomeUnknown,
)
from gatewayd.modem.lines import CTRL_Z, ESC, FinalResult, Line, LineKind, PendingContext
from gatewayd.modem.transport import AtProtocol, open_connection

log = logging.getLogger(__name__)

RESYNC_TIMEOUT = 2.0
RESYNC_ATTEMPTS = 3
SETTLE_TIME = 0.05
CLOSE_WAIT = 2.0
PROMPT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Unsolicited:
    """An unsolicited result code; `pdu` is the hex line that follows `+CMT` / `+CDS`."""

    name: str
    text: str
    pdu: str | None = None

    @property
    def args(self) -> str:
        return self.text.split(":", 1)[1].strip() if ":" in self.text else ""


@dataclass(frozen=True)
class Response:
    """The answer lines of one command (echo, noise and unsolicited codes removed)."""

    command: str
    lines: tuple[str, ...]

    def values(self, prefix: str) -> list[str]:
        """The text after `prefix:` of every line carrying that prefix."""
        head = prefix.upper() + ":"
        return [line[len(head) :].strip() for line in self.lines if line.upper().startswith(head)]

    def first_value(self, prefix: str) -> str | None:
        found = self.values(prefix)
        return found[0] if found else None


UnsolicitedListener = Callable[[Unsolicited], None]
DisconnectListener = Callable[[ModemDisconnected], None]


@dataclass
class _Pending:
    context: PendingContext
    final: asyncio.Future[FinalResult]
    prompt: asyncio.Future[None] | None = None
    lines: list[str] = field(default_factory=list)
    payload: str | None = None
    payload_written: bool = False
    followed_by: _Follower | None = None
    guard: SendGuard | None = None
    """Asked right before the command and right before its payload are written."""

    def allowed(self) -> bool:
        return self.guard is None or self.guard()


@dataclass
class _Follower:
    """A prompt exchange to start when the one in flight ends with OK."""

    command: str
    payload: str
    started: asyncio.Future[_Pending]
    when: Callable[[Sequence[str]], bool] | None = None
    guard: SendGuard | None = None


class AtChannel:
    """Request/response over one modem connection; see the module docstring."""

    def __init__(
        self,
        name: str = "modem",
        *,
        resync_timeout: float = RESYNC_TIMEOUT,
        settle_time: float = SETTLE_TIME,
        timeout_scale: float = 1.0,
    ) -> None:
        self.name = name
        self._resync_timeout = resync_timeout
        self._settle_time = settle_time
        self._timeout_scale = timeout_scale
        self._protocol: AtProtocol | None = None
        self._lock = asyncio.Lock()
        self._lock_waiters = 0
        self._lock_handed_over = False
        self._pending: _Pending | None = None
        self._listeners: list[UnsolicitedListener] = []
        self._disconnect_listeners: list[DisconnectListener] = []
        self._disconnected: ModemDisconnected | None = None
        self._resync_needed = False
        self._lines_seen = 0
        self.last_seen: float | None = None

    # -- connection ------------------------------------------------------------------------

    async def open(self, url: str, *, baudrate: int = 115200) -> None:
        self._disconnected = None
        self._protocol = await open_connection(url, self, baudrate=baudrate)

    def attach(self, protocol: AtProtocol) -> None:
        """Use an already connected protocol (its sink must be this channel)."""
        self._disconnected = None
        self._protocol = protocol

    async def close(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.close()
        self._mark_disconnected(ModemDisconnected(f"{self.name}: closed"), notify=False)
        if protocol is not None and protocol.transport is not None:
            # the port (and its exclusive lock) is released only once the transport is gone
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(protocol.closed), CLOSE_WAIT)

    @property
    def is_open(self) -> bool:
        return self._protocol is not None and self._disconnected is None

    @property
    def garbage_bytes(self) -> int:
        return self._protocol.garbage_bytes if self._protocol else 0

    # -- listeners -------------------------------------------------------------------------

    def add_listener(self, listener: UnsolicitedListener) -> Callable[[], None]:
        """Call `listener` for every unsolicited code; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def add_disconnect_listener(self, listener: DisconnectListener) -> Callable[[], None]:
        self._disconnect_listeners.append(listener)
        return lambda: (
            self._disconnect_listeners.remove(listener)
            if listener in self._disconnect_listeners
            else None
        )

    # -- commands --------------------------------------------------------------------------

    async def command(self, command: str, *, timeout: float | None = None) -> Response:
        """Send `command` (e.g. `AT+CSQ`) and return its answer; raises a `ModemError`."""
        await self._acquire()
        try:
            return await self._exchange(command, None, timeout, None)
        finally:
            self._lock.release()

    async def _acquire(self) -> None:
        """Take the line; while waiting, no prompt exchange is followed by another."""
        self._lock_waiters += 1
        try:
            await self._lock.acquire()
        finally:
            self._lock_waiters -= 1

    async def command_with_prompt(
        self,
        command: str,
        payload: str,
        *,
        prompt_timeout: float = PROMPT_TIMEOUT,
        timeout: float | None = None,
        on_written: Callable[[], None] | None = None,
        guard: SendGuard | None = None,
    ) -> Response:
        """The `AT+CMGS` exchange: command, `> `, payload + Ctrl-Z (then `on_written`), answer.

        Once the lock is held the exchange runs to its end even if the caller is cancelled,
        so the modem is never left waiting for a PDU. ``guard`` is asked right before the
        command is written and again right before the payload: when it says no, nothing more
        is written (ESC at the prompt) and `SendFenced` is raised.
        """
        await self._acquire()
        try:
            task = asyncio.ensure_future(
                self._exchange(command, payload, timeout, prompt_timeout, on_written, guard)
            )
        except BaseException:
            self._lock.release()
            raise
        task.add_done_callback(self._finish_shielded)
        return await asyncio.shield(task)

    def follow_with_prompt(
        self,
        command: str,
        payload: str,
        *,
        prompt_timeout: float = PROMPT_TIMEOUT,
        timeout: float | None = None,
        on_written: Callable[[], None] | None = None,
        when: Callable[[Sequence[str]], bool] | None = None,
        guard: SendGuard | None = None,
    ) -> tuple[asyncio.Future[Any], asyncio.Future[Response]] | None:
        """:meth:`command_with_prompt`, started the moment the prompt exchange in flight ends
        with OK and, with ``when``, answer lines ``when`` accepts (see the module docstring);
        None when there is no such exchange to follow. Returns a future done once the
        command is written, and the answer; both raise `NotFollowed` when the exchange was
        not started: nothing of it written."""
        pending = self._pending
        if (
            pending is None
            or pending.payload is None
            or pending.followed_by is not None
            or pending.final.done()
            or self._disconnected is not None
        ):
            return None
        follower = _Follower(
            command, payload, asyncio.get_running_loop().create_future(), when, guard
        )
        pending.followed_by = follower
        task = asyncio.ensure_future(
            self._run_follower(follower, timeout, prompt_timeout, on_written)
        )
        task.add_done_callback(functools.partial(self._finish_follower, follower))
        return follower.started, asyncio.shield(task)

    async def _run_follower(
        self,
        follower: _Follower,
        timeout: float | None,
        prompt_timeout: float,
        on_written: Callable[[], None] | None,
    ) -> Response:
        pending = await follower.started
        return await self._complete(pending, timeout, prompt_timeout, on_written, write=False)

    def _hand_over(self, pending: _Pending, final: FinalResult) -> None:
        """The exchange in flight ended: start the one following it, or refuse it."""
        follower, pending.followed_by = pending.followed_by, None
        if follower is None or follower.started.done():
            return
        if not final.ok or not pending.payload_written:
            follower.started.set_exception(NotFollowed(f"{pending.context.command} failed"))
            return
        if follower.when is not None and not follower.when(pending.lines):
            follower.started.set_exception(NotFollowed(f"{pending.context.command}: answer"))
            return
        if self._lock_waiters or self._resync_needed:
            follower.started.set_exception(NotFollowed("other commands wait for the line"))
            return
        if follower.guard is not None and not follower.guard():
            follower.started.set_exception(NotFollowed("its guard refused it"))
            return
        following = self._new_pending(follower.command, follower.payload, follower.guard)
        try:
            self._write(follower.command.encode("ascii") + b"\r", command=True)
        except ModemDisconnected as error:
            follower.started.set_exception(NotFollowed(str(error)))
            return
        self._pending = following
        self._lock_handed_over = True
        follower.started.set_result(following)

    def _finish_follower(self, follower: _Follower, task: asyncio.Future[Response]) -> None:
        started = follower.started
        if started.cancelled() or started.exception() is not None:
            if not task.cancelled():
                task.exception()  # retrieved: refused or withdrawn, never written
            return  # it never held the line
        self._finish_shielded(task)

    def _finish_shielded(self, task: asyncio.Future[Response]) -> None:
        if self._lock_handed_over:
            self._lock_handed_over = False  # the exchange that followed holds the line now
        else:
            self._lock.release()
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.debug("%s: shielded exchange ended with %r", self.name, exc)

    async def _exchange(
        self,
        command: str,
        payload: str | None,
        timeout: float | None,
        prompt_timeout: float | None,
        on_written: Callable[[], None] | None = None,
        guard: SendGuard | None = None,
    ) -> Response:
        self._raise_if_disconnected()
        if self._resync_needed:
            await self._resync()
        pending = self._new_pending(command, payload, guard)
        self._pending = pending
        return await self._complete(pending, timeout, prompt_timeout, on_written, write=True)

    def _new_pending(
        self, command: str, payload: str | None, guard: SendGuard | None = None
    ) -> _Pending:
        spec = spec_for(command)
        loop = asyncio.get_running_loop()
        pending = _Pending(PendingContext(command, spec.prefix), loop.create_future(), guard=guard)
        if payload is not None:
            pending.prompt = loop.create_future()
            pending.payload = payload
        return pending

    async def _complete(
        self,
        pending: _Pending,
        timeout: float | None,
        prompt_timeout: float | None,
        on_written: Callable[[], None] | None,
        *,
        write: bool,
    ) -> Response:
        """The rest of an exchange whose ``pending`` is in place: write the command (unless
        already written), the payload after the prompt, then wait for the final result."""
        command, payload = pending.context.command, pending.payload
        spec = spec_for(command)
        limit = (timeout if timeout is not None else spec.timeout) * self._timeout_scale
        try:
            if write:
                if not pending.allowed():
                    raise SendFenced(f"{self.name}: {command} not written: its guard refused it")
                self._write(command.encode("ascii") + b"\r", command=True)
            if pending.prompt is not None and payload is not None:
                await self._send_payload(pending, payload, prompt_timeout or PROMPT_TIMEOUT)
                if pending.payload_written and on_written is not None:
                    on_written()
            result = await asyncio.wait_for(pending.final, limit)
        except TimeoutError:
            self._resync_needed = True
            message = f"{self.name}: no answer to {command} within {limit:g}s"
            if pending.payload_written:
                raise SendOutcomeUnknown(message + " after the PDU was sent") from None
            raise AtTimeout(message) from None
        except ModemDisconnected as error:
            if pending.payload_written:
                raise SendOutcomeUnknown(f"{error} after the PDU was sent") from error
            raise
        except asyncio.CancelledError:
            self._resync_needed = True
            raise
        finally:
            if self._pending is pending:
                self._pending = None
            follower, pending.followed_by = pending.followed_by, None
            if follower is not None and not follower.started.done():
                follower.started.set_exception(NotFollowed(f"{command} did not end with OK"))
        if not result.ok:
            raise AtCommandError(command, _error_kind(result), result.code, text=result.text)
        return Response(command, tuple(pending.lines))

    async def _send_payload(self, pending: _Pending, payload: str, prompt_timeout: float) -> None:
        assert pending.prompt is not None
        waiting: set[asyncio.Future[Any]] = {pending.prompt, pending.final}
        done, _ = await asyncio.wait(
            waiting,
            timeout=prompt_timeout * self._timeout_scale,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if pending.final in done:
            return  # an error (or a surprising OK, or a disconnect) instead of the prompt
        if pending.prompt in done:
            if not pending.payload_written and not pending.final.done():
                self._write_payload(pending, payload)
            return
        self._write(ESC)
        self._resync_needed = True
        raise PromptTimeout(f"{self.name}: no '> ' prompt after {pending.context.command}")

    def _write_payload(self, pending: _Pending, payload: str) -> None:
        """The PDU after the prompt: the point of no return, so the guard is asked once more;
        when it says no, ESC cancels the command and the exchange ends with `SendFenced`."""
        if not pending.allowed():
            self._write(ESC)
            self._resync_needed = True
            pending.final.set_exception(
                SendFenced(f"{self.name}: PDU not written: its guard refused it (ESC sent)")
            )
            return
        pending.context = PendingContext(
            pending.context.command, pending.context.prefix, sent_pdu=payload
        )
        self._write(payload.encode("ascii") + CTRL_Z)
        pending.payload_written = True

    async def synchronise(self) -> None:
        """ESC, then `AT` until the modem answers `OK` and the line goes quiet."""
        async with self._lock:
            await self._resync()

    async def _resync(self) -> None:
        """Get back to a known command state after a timeout or an abandoned exchange."""
        for attempt in range(1, RESYNC_ATTEMPTS + 1):
            self._resync_needed = False
            with contextlib.suppress(AtTimeout, AtCommandError):
                self._write(ESC)
                await self._exchange("AT", None, self._resync_timeout, None)
                await self._wait_until_quiet()
                log.info("%s: resynchronised after %d attempt(s)", self.name, attempt)
                return
        self._resync_needed = True
        raise AtTimeout(f"{self.name}: modem does not answer AT")

    async def _wait_until_quiet(self) -> None:
        for _ in range(20):
            seen = self._lines_seen
            await asyncio.sleep(self._settle_time)
            if seen == self._lines_seen:
                return

    def _write(self, data: bytes, *, command: bool = False) -> None:
        self._raise_if_disconnected()
        assert self._protocol is not None
        if command:
            self._protocol.write_command(data)
        else:
            self._protocol.write(data)

    def _raise_if_disconnected(self) -> None:
        if self._disconnected is not None:
            raise ModemDisconnected(str(self._disconnected))
        if self._protocol is None:
            raise ModemDisconnected(f"{self.name}: not open")

    # -- LineSink --------------------------------------------------------------------------

    def pending_context(self) -> PendingContext | None:
        return self._pending.context if self._pending else None

    def awaiting_prompt(self) -> bool:
        pending = self._pending
        return bool(pending and pending.prompt and not pending.prompt.done())

    def prompt_received(self) -> None:
        self.last_seen = time.time()
        pending = self._pending
        if pending and pending.prompt and not pending.prompt.done():
            if pending.payload is not None and not pending.final.done():
                # Written from here, at once: the modem waits for it, and the exchange's task
                # would only run some loop turns later.
                with contextlib.suppress(ModemDisconnected):
                    self._write_payload(pending, pending.payload)
            pending.prompt.set_result(None)

    def line_received(self, line: Line, pdu: str | None) -> None:
        self._lines_seen += 1
        self.last_seen = time.time()
        pending = self._pending
        if line.kind is LineKind.UNSOLICITED and line.name:
            self._dispatch(Unsolicited(line.name, line.text, pdu))
        elif line.kind is LineKind.FINAL and pending and line.final:
            if not pending.final.done():
                self._hand_over(pending, line.final)
                pending.final.set_result(line.final)
        elif line.kind is LineKind.RESPONSE and pending:
            pending.lines.append(line.text)
        else:
            log.debug("%s: ignored %s line %r", self.name, line.kind.value, line.text)

    def connection_lost(self, exc: Exception | None) -> None:
        self._protocol = None
        reason = f": {exc}" if exc else ""
        self._mark_disconnected(ModemDisconnected(f"{self.name}: connection lost{reason}"))

    def _mark_disconnected(self, error: ModemDisconnected, *, notify: bool = True) -> None:
        if self._disconnected is not None:
            return
        self._disconnected = error
        pending = self._pending
        if pending is not None:
            if not pending.final.done():
                pending.final.set_exception(error)
            if pending.prompt is not None:
                pending.prompt.cancel()
        if notify:
            log.warning("%s", error)
            for listener in list(self._disconnect_listeners):
                self._call_safely(functools.partial(listener, error))

    def _dispatch(self, event: Unsolicited) -> None:
        for listener in list(self._listeners):
            self._call_safely(functools.partial(listener, event))

    def _call_safely(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:
            log.exception("%s: listener %r failed", self.name, call)


def _error_kind(result: FinalResult) -> ErrorKind:
    if result.kind == "CMS":
        return "CMS"
    if result.kind == "CME":
        return "CME"
    return "ERROR"
