"""Cutting a TCP byte stream into SMPP frames by their ``command_length``.

A ``command_length`` below 16 or above the server's limit leaves no way to find the next
frame: :func:`split_frame` and :class:`FrameBuffer` raise ``PduError(ESME_RINVCMDLEN)`` at
once (with the command id and sequence number when the 16 header octets are there), and the
server answers ``generic_nack`` and closes that connection.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from gatewayd.smpp.constants import HEADER_LENGTH, CommandStatus
from gatewayd.smpp.errors import PduError

DEFAULT_MAX_LENGTH = 64 * 1024
_U32 = struct.Struct(">I")
_ID_AND_SEQUENCE = struct.Struct(">I4xI")


def split_frame(
    buffer: bytes | bytearray | memoryview, max_length: int, start: int = 0
) -> tuple[bytes | None, int]:
    """``(frame, consumed)``: the whole frame at ``start`` and the octets it takes, or
    ``(None, 0)`` while the frame is incomplete. PduError(ESME_RINVCMDLEN) for a
    ``command_length`` below 16 or above ``max_length``."""
    available = len(buffer) - start
    if available < 4:
        return None, 0
    (length,) = _U32.unpack_from(buffer, start)
    if length < HEADER_LENGTH or length > max_length:
        command_id = sequence_number = None
        if available >= HEADER_LENGTH:
            command_id, sequence_number = _ID_AND_SEQUENCE.unpack_from(buffer, start + 4)
        raise PduError(
            CommandStatus.ESME_RINVCMDLEN,
            f"command_length {length} outside 16..{max_length}",
            command_id=command_id,
            sequence_number=sequence_number,
        )
    if available < length:
        return None, 0
    return bytes(buffer[start : start + length]), length


class FrameBuffer:
    """Collects the octets of one connection and hands out whole frames::

        frames = FrameBuffer(max_length=65536)
        for frame in frames.feed(data):   # PduError at a bad command_length
            pdu = decode(frame)

    Frames before a bad one are handed out first; after PduError the stream cannot be
    resynchronised and the buffer raises again on every feed.
    """

    __slots__ = ("_buffer", "_error", "_start", "max_length")

    def __init__(self, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        if max_length < HEADER_LENGTH:
            raise ValueError(f"max_length {max_length} is shorter than a header")
        self.max_length = max_length
        self._buffer = bytearray()
        self._start = 0
        self._error: PduError | None = None

    @property
    def pending(self) -> int:
        """Octets received but not yet handed out as a frame."""
        return len(self._buffer) - self._start

    def feed(self, data: bytes | bytearray | memoryview) -> Iterator[bytes]:
        """Append ``data``; iterate the returned iterator for every whole frame now available."""
        self._buffer += data
        return self._frames()

    def _frames(self) -> Iterator[bytes]:
        while True:
            if self._error is not None:
                raise self._error
            try:
                frame, consumed = split_frame(self._buffer, self.max_length, self._start)
            except PduError as error:
                self._error = error
                raise
            if frame is None:
                self._compact()
                return
            self._start += consumed
            yield frame

    def _compact(self) -> None:
        if self._start:
            del self._buffer[: self._start]
            self._start = 0
