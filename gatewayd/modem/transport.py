"""The byte-level AT transport: an `asyncio.Protocol` over pyserial-asyncio-fast.

It owns buffering, splitting the stream into lines, spotting the `> ` prompt, pairing `+CMT` /
`+CDS` headers with the PDU line that follows them, and bounding the buffer against garbage.
Each line is classified where it arrives (`lines.classify`) and handed to a `LineSink`; the
protocol knows nothing of commands beyond the `PendingContext` the sink reports.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from typing import Protocol, cast

import serial_asyncio_fast

from gatewayd.modem.errors import ModemDisconnected
from gatewayd.modem.lines import (
    Line,
    LineKind,
    PendingContext,
    classify,
    clean_line,
    find_prompt,
    header_length,
    is_pdu_line,
)

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 4096
CONNECT_TIMEOUT = 10.0


class LineSink(Protocol):
    """What the protocol reports to (the channel)."""

    def pending_context(self) -> PendingContext | None: ...

    def awaiting_prompt(self) -> bool: ...

    def line_received(self, line: Line, pdu: str | None) -> None: ...

    def prompt_received(self) -> None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...


class AtProtocol(asyncio.Protocol):
    """Splits the modem's byte stream into classified lines for a `LineSink`."""

    def __init__(self, sink: LineSink, *, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._sink = sink
        self._max_line_bytes = max_line_bytes
        self._buffer = bytearray()
        self._header_awaiting_pdu: Line | None = None
        self.transport: asyncio.Transport | None = None
        self.garbage_bytes = 0
        self._partial_is_stale = False
        self.connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if not self.connected.done():
            self.connected.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.closed.done():
            self.closed.set_result(None)
        self._flush_pending_header()
        self._sink.connection_lost(exc)

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ModemDisconnected("the modem connection is closed")
        self.transport.write(data)

    def write_command(self, data: bytes) -> None:
        """Write a command line. A partial line already buffered cannot be its answer, so it
        will be classified as if no command were pending."""
        self._partial_is_stale = bool(self._buffer)
        self.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self._buffer.extend(data)
        try:
            self._drain_buffer()
        except Exception:  # a bug here must not kill the read loop
            log.exception("modem line handling failed; buffer dropped")
            self._buffer.clear()
            self._header_awaiting_pdu = None

    def _drain_buffer(self) -> None:
        while True:
            end = _first_terminator(self._buffer)
            if end < 0:
                break
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            stale, self._partial_is_stale = self._partial_is_stale, False
            if raw:
                self._handle_raw_line(raw, stale)
        if self._buffer and self._sink.awaiting_prompt():
            consumed = find_prompt(bytes(self._buffer))
            if consumed is not None:
                del self._buffer[:consumed]
                self._sink.prompt_received()
        if len(self._buffer) > self._max_line_bytes:
            log.warning("modem sent %d bytes without a line end; dropped", len(self._buffer))
            self.garbage_bytes += len(self._buffer)
            self._buffer.clear()

    def _handle_raw_line(self, raw: bytes, stale: bool = False) -> None:
        text, damaged = clean_line(raw)
        if not text:
            if damaged:
                self.garbage_bytes += len(raw)
            return
        header = self._header_awaiting_pdu
        if header is not None:
            self._header_awaiting_pdu = None
            if not damaged and is_pdu_line(text, header_length(header.text)):
                self._sink.line_received(header, text)
                return
            log.warning("no PDU line after %r", header.text)
            self._sink.line_received(header, None)
        line = classify(text, damaged, None if stale else self._sink.pending_context())
        if line.kind is LineKind.NOISE and damaged:
            self.garbage_bytes += len(raw)
        if line.kind is LineKind.UNSOLICITED and line.pdu_follows:
            self._header_awaiting_pdu = line
            return
        self._sink.line_received(line, None)

    def _flush_pending_header(self) -> None:
        header = self._header_awaiting_pdu
        if header is not None:
            self._header_awaiting_pdu = None
            self._sink.line_received(header, None)


def _first_terminator(buffer: bytearray) -> int:
    positions = [pos for pos in (buffer.find(b"\r"), buffer.find(b"\n")) if pos >= 0]
    return min(positions) if positions else -1


async def open_connection(url: str, sink: LineSink, *, baudrate: int = 115200) -> AtProtocol:
    """Open a device path (including pty slaves) or `socket://host:port` and attach a protocol."""
    loop = asyncio.get_running_loop()
    protocol = AtProtocol(sink)
    # A local port is opened exclusively (flock): a second program on the same modem (two
    # gatewayd, ModemManager) would otherwise steal answers and corrupt the exchange.
    exclusive = {} if "://" in url else {"exclusive": True}
    try:
        await serial_asyncio_fast.create_serial_connection(
            loop, lambda: protocol, url, baudrate=baudrate, **exclusive
        )
        await asyncio.wait_for(protocol.connected, CONNECT_TIMEOUT)
    except (OSError, ValueError, TimeoutError) as exc:  # SerialException is an OSError
        if port_held(exc):
            raise ModemDisconnected(f"{url} {HELD_BY_OTHER}") from exc
        raise ModemDisconnected(f"cannot open {url}: {exc}") from exc
    return protocol


HELD_BY_OTHER = "is held by another process (ModemManager?): see docs/hardware.md"


def port_held(error: BaseException) -> bool:
    """True when opening failed because another process holds the port."""
    if isinstance(error, OSError) and error.errno == errno.EBUSY:
        return True
    return "exclusively lock" in str(error) or "Device or resource busy" in str(error)
