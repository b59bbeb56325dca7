"""One SMPP connection: frames in and out, the bind state, the window, the timers, and the
requests the server itself sends (``enquire_link``, ``deliver_sm``, ``unbind``).

What a request *does* is not here: binds and message operations go to an :class:`Operations`
(:mod:`webui.smpp.operations`), and a bound connection is announced to a :class:`Binds`
registry so the outbox can reach it. This module owns the protocol rules:

- A bind is carried out before the next frame is read (nothing else can be in flight then).
  Any other request before a bind is refused ``ESME_RINVBNDSTS``, a second bind
  ``ESME_RALYBND`` (:mod:`webui.smpp.session`).
- Message operations run concurrently, up to ``window`` at once; their responses go out in
  the order they finish. One more is answered ``ESME_RTHROTTLED`` straight away.
- A frame that decodes badly is answered (its own response with the status, or
  ``generic_nack`` for an unknown command) and the connection goes on; a ``command_length``
  that breaks the framing gets ``generic_nack`` and, once the requests before it are
  answered, the connection is closed.
- After ``enquire_link_interval`` of silence the server sends ``enquire_link``; unanswered
  within ``response_timeout`` it closes the connection. A bind that sends no request for
  ``idle_timeout`` is unbound; a connection that does not bind within ``bind_timeout`` is
  closed.
- ``unbind`` is answered once the requests in flight are answered; the connection then
  closes. Requests in flight when a connection drops still finish (a message whose commit
  started is queued), their answers go nowhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import structlog

from gatewayd.smpp.codec import decode, encode
from gatewayd.smpp.constants import (
    INTERFACE_VERSION,
    RESPONSE_BIT,
    CommandId,
    CommandStatus,
    Tag,
)
from gatewayd.smpp.errors import EncodeError, PduError
from gatewayd.smpp.frames import FrameBuffer
from gatewayd.smpp.pdu import (
    PDU_TYPES,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    Unbind,
    UnbindResp,
    error_response,
    response_for,
)
from gatewayd.smpp.tlv import Tlv
from webui.smpp.session import BIND_STATES, SUBMITTING, BindState, after_bind, refusal

log = structlog.get_logger("webui.smpp")

S = CommandStatus
BindPdu = BindTransmitter | BindReceiver | BindTransceiver
MAX_FRAME = 64 * 1024
"""Longest PDU accepted: a submit_sm with a full message_payload fits."""
WRITE_BUFFER_LIMIT = 4 * 1024 * 1024
"""A client that stops reading while this much waits to be sent is disconnected."""
_SEQUENCE = struct.Struct(">I")
_VERSION = (Tlv.u8(Tag.SC_INTERFACE_VERSION, INTERFACE_VERSION),)
"""What a bind response carries: the SMPP version this server speaks (3.4)."""
_READ_SIZE = 64 * 1024


class ConnectionLost(Exception):
    """The connection closed before the answer to a request came back."""


class NotAcknowledged(Exception):
    """The client answered a request of ours with an error status, or not in time."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Limits:
    """The timers and window of every connection (from ``[smpp]``)."""

    window: int = 10
    idle_timeout: float = 300.0
    enquire_link_interval: float = 60.0
    response_timeout: float = 30.0
    bind_timeout: float = 30.0


@dataclass(frozen=True)
class BindOutcome:
    """The answer to a bind: ``status`` (ESME_ROK when bound), the SMSC's ``system_id``, and
    whom the connection is bound as (an account, opaque here) with the name logs show."""

    status: int
    server_id: str
    bound_as: object | None = None
    account_id: int | None = None
    system_id: str = ""


class Operations(Protocol):
    """What the requests of a connection do (:class:`webui.smpp.operations.SmppOperations`)."""

    async def bind(self, request: BindPdu, peer: str) -> BindOutcome: ...

    async def perform(self, request: Pdu, bound_as: object) -> Pdu: ...


class Binds(Protocol):
    """Where bound connections are announced (:class:`webui.smpp.server.BindRegistry`)."""

    def bound(self, connection: Connection) -> None: ...

    def closed(self, connection: Connection) -> None: ...

    def answered(self, connection: Connection) -> None: ...


class Connection:
    """Serves one accepted connection until it closes (:meth:`serve`)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        operations: Operations,
        binds: Binds,
        limits: Limits,
        peer: str,
        tls: bool = False,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.operations = operations
        self.binds = binds
        self.limits = limits
        self.peer = peer
        self.tls = tls
        self.state = BindState.OPEN
        self.bound_as: object | None = None
        self.account_id: int | None = None
        self.system_id = ""
        self.opened_at = time.monotonic()
        self.last_received = self.opened_at
        self.last_request = self.opened_at
        self._in_flight: set[asyncio.Task[None]] = set()
        self._awaiting: dict[int, asyncio.Future[Pdu]] = {}
        self._slot_freed = asyncio.Event()
        """Set when a request of ours is answered (or given up): room in the window."""
        self._sequence = itertools.cycle(range(1, 0x7FFFFFFF))
        self._closed = asyncio.Event()
        self._enquiring = False
        self._binding = False
        self._unwritten: list[bytes] = []

    # --- lifetime ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def serve(self) -> None:
        """Read and answer frames until the connection ends."""
        watch = asyncio.create_task(self._watch(), name=f"smpp-watch-{self.peer}")
        try:
            await self._read_frames()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
            self._close()

    def _close(self) -> None:
        if self._closed.is_set():
            return
        was_bound = self.state.bound or self.state is BindState.UNBINDING
        self.state = BindState.CLOSED
        self._closed.set()
        for future in self._awaiting.values():
            if not future.done():
                future.set_exception(ConnectionLost("connection closed"))
        self._awaiting.clear()
        self._slot_freed.set()
        self._write_out()
        self.writer.close()
        if was_bound:
            self.binds.closed(self)
            log.info(
                "SMPP connection closed",
                system_id=self.system_id,
                peer=self.peer,
                in_flight=len(self._in_flight),
            )

    async def finish(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for the requests in flight to be answered."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace)

    async def stop(self, grace: float) -> None:
        """The server is stopping: answer what is in flight, unbind, close."""
        await self.finish(grace)
        if self.state.bound:
            self.state = BindState.UNBINDING
            with contextlib.suppress(ConnectionLost, NotAcknowledged):
                await self.request(Unbind(sequence_number=0), timeout=min(grace, 5.0))
        self._close()

    # --- reading ------------------------------------------------------------------------

    async def _read_frames(self) -> None:
        frames = FrameBuffer(MAX_FRAME)
        while not self.closed:
            data = await self.reader.read(_READ_SIZE)
            if not data:
                return
            try:
                for frame in frames.feed(data):
                    await self._frame(frame)
                    if self.closed:
                        return
            except PduError as error:
                self._send(
                    GenericNack(
                        sequence_number=error.sequence_number or 0, command_status=error.status
                    )
                )
                log.info(
                    "SMPP framing broken, connection closed",
                    peer=self.peer,
                    system_id=self.system_id,
                    reason=str(error),
                )
                await self.finish(self.limits.response_timeout)  # earlier requests answered
                return

    async def _frame(self, frame: bytes) -> None:
        self.last_received = time.monotonic()
        try:
            pdu = decode(frame)
        except PduError as error:
            self._undecodable(error)
            return
        if pdu.is_response:
            self._response(pdu)
            return
        self.last_request = self.last_received
        status = refusal(self.state, pdu.command_id)
        if status is not None:
            self._refuse(pdu, status)
        elif pdu.command_id == CommandId.ENQUIRE_LINK:
            self._send(EnquireLinkResp(sequence_number=pdu.sequence_number))
        elif pdu.command_id in BIND_STATES:
            assert isinstance(pdu, BindPdu)
            await self._bind(pdu)
        elif pdu.command_id == CommandId.UNBIND:
            await self._unbind(pdu)
        elif pdu.command_id in SUBMITTING:
            self._start(pdu)
        else:
            self._refuse(pdu, S.ESME_RINVCMDID)

    def _undecodable(self, error: PduError) -> None:
        command_id = error.command_id
        sequence = error.sequence_number or 0
        if command_id is not None and command_id & RESPONSE_BIT:
            future = self._awaiting.pop(sequence, None)
            if future is not None:
                self._slot_freed.set()
                if not future.done():
                    future.set_exception(NotAcknowledged(f"undecodable answer: {error}"))
            return
        log.info(
            "SMPP PDU refused",
            peer=self.peer,
            system_id=self.system_id,
            command_id=f"0x{command_id:08X}" if command_id is not None else None,
            status=f"0x{error.status:08X}",
            reason=str(error),
        )
        self._send(error_response(error))

    def _refuse(self, pdu: Pdu, status: int) -> None:
        try:
            self._send(response_for(pdu, status))
        except ValueError:  # no response of its own (outbind, alert_notification)
            self._send(GenericNack(sequence_number=pdu.sequence_number, command_status=status))

    def _response(self, pdu: Pdu) -> None:
        future = self._awaiting.pop(pdu.sequence_number, None)
        if future is not None:
            self._slot_freed.set()
            if not future.done():
                future.set_result(pdu)

    # --- binding and unbinding --------------------------------------------------------------

    async def _bind(self, pdu: BindPdu) -> None:
        self._binding = True
        try:
            outcome = await self.operations.bind(pdu, self.peer)
        except Exception:
            log.exception("SMPP bind failed", peer=self.peer)
            outcome = BindOutcome(S.ESME_RSYSERR, "")
        finally:
            self._binding = False
            self.opened_at = time.monotonic()  # a refused bind gets bind_timeout for the next
        if self.closed:
            return
        if outcome.status != S.ESME_ROK:
            self._send(response_for(pdu, outcome.status))
            return
        self.state = after_bind(self.state, pdu.command_id)
        self.bound_as = outcome.bound_as
        self.account_id = outcome.account_id
        self.system_id = outcome.system_id
        self._send(response_for(pdu, S.ESME_ROK, system_id=outcome.server_id, tlvs=_VERSION))
        log.info(
            "SMPP bound",
            system_id=self.system_id,
            mode=self.state.value,
            peer=self.peer,
            tls=self.tls,
        )
        self.binds.bound(self)

    async def _unbind(self, pdu: Pdu) -> None:
        self.state = BindState.UNBINDING
        self.binds.closed(self)
        await self.finish(self.limits.response_timeout)
        self._send(UnbindResp(sequence_number=pdu.sequence_number))
        log.info("SMPP unbound", system_id=self.system_id, peer=self.peer)
        await self._flush()
        self._close()

    # --- message operations ------------------------------------------------------------------

    def _start(self, pdu: Pdu) -> None:
        if len(self._in_flight) >= self.limits.window:
            self._send(response_for(pdu, S.ESME_RTHROTTLED))
            return
        task = asyncio.create_task(self._perform(pdu))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _perform(self, pdu: Pdu) -> None:
        try:
            answer = await self.operations.perform(pdu, self.bound_as)
        except Exception:
            log.exception("SMPP request failed", system_id=self.system_id, peer=self.peer)
            answer = response_for(pdu, S.ESME_RSYSERR)
        if not self.closed:
            self._send(answer)

    # --- requests of ours ---------------------------------------------------------------------

    @property
    def free_slots(self) -> int:
        """deliver_sm this connection can take now without exceeding its window."""
        return max(0, self.limits.window - len(self._awaiting))

    async def request(self, pdu: Pdu, *, timeout: float | None = None) -> Pdu:
        """Send ``pdu`` (its sequence number replaced) and return the client's answer;
        :class:`ConnectionLost` or :class:`NotAcknowledged` otherwise."""
        return await self._exchange(lambda sequence: encode(_renumbered(pdu, sequence)), timeout)

    async def request_encoded(self, frame: bytes, *, timeout: float | None = None) -> Pdu:
        """:meth:`request` for a PDU already encoded (its sequence number is overwritten)."""

        def numbered(sequence: int) -> bytes:
            return frame[:12] + _SEQUENCE.pack(sequence) + frame[16:]

        return await self._exchange(numbered, timeout)

    def send_requests(
        self, frames: Sequence[bytes], *, timeout: float | None = None
    ) -> list[asyncio.Future[Pdu]]:
        """Send requests already encoded (their sequence numbers overwritten) in one write,
        without waiting for room: the caller keeps within :attr:`free_slots`. Each future gets
        the client's answer (see :func:`refusal_of`), or :class:`ConnectionLost`, or
        :class:`NotAcknowledged` when no answer came within ``timeout``."""
        if self.closed:
            raise ConnectionLost("connection closed")
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Pdu]] = []
        sequences: list[int] = []
        for frame in frames:
            sequence = next(self._sequence)
            future: asyncio.Future[Pdu] = loop.create_future()
            self._awaiting[sequence] = future
            self._write(frame[:12] + _SEQUENCE.pack(sequence) + frame[16:])
            futures.append(future)
            sequences.append(sequence)
        loop.call_later(timeout or self.limits.response_timeout, self._expire, sequences)
        return futures

    def _expire(self, sequences: list[int]) -> None:
        for sequence in sequences:
            future = self._awaiting.pop(sequence, None)
            if future is not None:
                self._slot_freed.set()
                if not future.done():
                    future.set_exception(NotAcknowledged("no answer in time"))

    async def _exchange(self, frame_for: Callable[[int], bytes], timeout: float | None) -> Pdu:
        while not self.closed and len(self._awaiting) >= self.limits.window:
            self._slot_freed.clear()
            await self._slot_freed.wait()
        if self.closed:
            raise ConnectionLost("connection closed")
        sequence = next(self._sequence)
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        self._awaiting[sequence] = future
        self._write(frame_for(sequence))
        try:
            answer = await asyncio.wait_for(
                asyncio.shield(future), timeout or self.limits.response_timeout
            )
        except TimeoutError:
            raise NotAcknowledged("no answer in time") from None
        finally:
            if self._awaiting.pop(sequence, None) is not None:
                self._slot_freed.set()
            self.binds.answered(self)
        refused = refusal_of(answer)
        if refused is not None:
            raise refused
        return answer

    # --- timers -------------------------------------------------------------------------------

    async def _watch(self) -> None:
        limits = self.limits
        while not self.closed:
            now = time.monotonic()
            if self.state is BindState.OPEN and not self._binding:
                if now - self.opened_at >= limits.bind_timeout:
                    log.info("SMPP connection closed: no bind in time", peer=self.peer)
                    self._close()
                    return
            elif self.state.bound and now - self.last_request >= limits.idle_timeout:
                log.info("SMPP bind idle, unbinding", system_id=self.system_id, peer=self.peer)
                _keep(asyncio.create_task(self.stop(limits.response_timeout)))
                return
            if now - self.last_received >= limits.enquire_link_interval and not self._enquiring:
                self._spawn_enquire_link()
            await asyncio.sleep(self._next_check(now))

    def _next_check(self, now: float) -> float:
        limits = self.limits
        deadlines = [self.last_received + limits.enquire_link_interval]
        if self.state is BindState.OPEN:
            deadlines.append(self.opened_at + limits.bind_timeout)
        if self.state.bound:
            deadlines.append(self.last_request + limits.idle_timeout)
        return max(0.05, min(deadlines) - now)

    def _spawn_enquire_link(self) -> None:
        self._enquiring = True

        async def enquire() -> None:
            try:
                await self.request(EnquireLink(sequence_number=0))
            except NotAcknowledged as reason:
                log.info(
                    "SMPP enquire_link unanswered, connection closed",
                    system_id=self.system_id,
                    peer=self.peer,
                    reason=str(reason),
                )
                self._close()
            except ConnectionLost:
                pass
            finally:
                self._enquiring = False

        _keep(asyncio.create_task(enquire()))

    # --- writing ------------------------------------------------------------------------------

    def _send(self, pdu: Pdu) -> None:
        try:
            frame = encode(pdu)
        except EncodeError:
            log.exception("SMPP answer could not be encoded", system_id=self.system_id)
            frame = encode(response_for_error(pdu))
        self._write(frame)

    def _write(self, frame: bytes) -> None:
        """Queue ``frame``: the frames written in one turn of the event loop (the answers of
        a committed group) leave in one send, after the callbacks already due."""
        if self.closed or self.writer.is_closing():
            return
        if not self._unwritten:
            asyncio.get_running_loop().call_soon(self._write_out)
        self._unwritten.append(frame)

    def _write_out(self) -> None:
        if not self._unwritten:
            return
        frames, self._unwritten = self._unwritten, []
        if self.writer.is_closing():
            return
        self.writer.write(frames[0] if len(frames) == 1 else b"".join(frames))
        if self.writer.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
            log.info("SMPP client stopped reading, connection closed", peer=self.peer)
            self._close()

    async def _flush(self) -> None:
        self._write_out()
        with contextlib.suppress(ConnectionError, OSError):
            await asyncio.wait_for(self.writer.drain(), self.limits.response_timeout)


def refusal_of(answer: Pdu) -> NotAcknowledged | None:
    """What an answer to one of our requests means when it is not ESME_ROK."""
    if answer.command_id == CommandId.GENERIC_NACK or answer.command_status != S.ESME_ROK:
        status = answer.command_status
        return NotAcknowledged(f"answered with status 0x{status:08X}", status)
    return None


def _renumbered(pdu: Pdu, sequence: int) -> Pdu:
    return replace(pdu, sequence_number=sequence)


def response_for_error(pdu: Pdu) -> Pdu:
    """ESME_RSYSERR in place of an answer that could not be encoded (a defect of ours)."""
    return PDU_TYPES[pdu.command_id](
        sequence_number=pdu.sequence_number, command_status=S.ESME_RSYSERR
    )


_background: set[asyncio.Task[None]] = set()


def _keep(task: asyncio.Task[None]) -> None:
    """Hold a reference to a fire-and-forget task until it ends."""
    _background.add(task)
    task.add_done_callback(_background.discard)
