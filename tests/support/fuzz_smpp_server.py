"""A fuzz target for the SMPP server's connection: arbitrary bytes from a client, fed in
chunks (after a bind, for half the inputs), to a real
:class:`~webui.smpp.connection.Connection` whose operations answer at once.

The connection may only answer with frames that decode, must never raise, and ends either
when the input ends or, after a framing error, with ``generic_nack`` (``ESME_RINVCMDLEN``) as
one of its answers (requests before the broken frame are still answered).
"""

from __future__ import annotations

import asyncio
from typing import Any

from gatewayd.smpp import (
    BindTransceiver,
    CommandId,
    CommandStatus,
    FrameBuffer,
    GenericNack,
    Pdu,
    PduError,
    decode,
    encode,
    response_for,
)
from webui.smpp.connection import BindOutcome, Connection, Limits

BIND = encode(BindTransceiver(sequence_number=1, system_id="fuzz", password="fuzz"))
LIMITS = Limits(window=4, idle_timeout=60, enquire_link_interval=60, response_timeout=1)
_loop = asyncio.new_event_loop()


class AnswerAtOnce:
    """Operations that bind anyone and accept every request."""

    async def bind(self, request: Any, peer: str) -> BindOutcome:
        return BindOutcome(CommandStatus.ESME_ROK, "fuzz", bound_as=object(), account_id=1)

    async def perform(self, request: Pdu, bound_as: object) -> Pdu:
        return response_for(request, CommandStatus.ESME_ROK)


class Registry:
    def bound(self, connection: Connection) -> None:
        pass

    def closed(self, connection: Connection) -> None:
        pass

    def answered(self, connection: Connection) -> None:
        pass


class Transport:
    def __init__(self) -> None:
        self.closing = False

    def get_write_buffer_size(self) -> int:
        return 0


class CollectingWriter:
    """What a StreamWriter offers the connection, keeping every byte written."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.transport = Transport()

    def write(self, data: bytes) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return self.transport.closing

    def close(self) -> None:
        self.transport.closing = True

    async def drain(self) -> None:
        pass


def _stream(data: bytes) -> bytes:
    return (BIND + data) if data[:1] and data[0] & 1 else data


async def _serve(data: bytes) -> bytes:
    reader = asyncio.StreamReader()
    writer = CollectingWriter()
    connection = Connection(
        reader,
        writer,  # type: ignore[arg-type]
        operations=AnswerAtOnce(),
        binds=Registry(),
        limits=LIMITS,
        peer="fuzz",
    )
    stream = _stream(data)
    step = 1 + (data[0] % 23 if data else 0)
    for start in range(0, len(stream), step):
        reader.feed_data(stream[start : start + step])
    reader.feed_eof()
    await asyncio.wait_for(connection.serve(), 5)
    return bytes(writer.data)


def _client_frames(stream: bytes) -> tuple[list[bytes], int | None]:
    """The whole frames the client sent and, when its framing broke after them, the
    sequence number of the broken header (0 when it had none)."""
    frames: list[bytes] = []
    try:
        frames.extend(FrameBuffer().feed(stream))
    except PduError as error:
        assert error.status == CommandStatus.ESME_RINVCMDLEN
        return frames, error.sequence_number or 0
    return frames, None


def fuzz_smpp_server(data: bytes) -> None:
    written = _loop.run_until_complete(_serve(data))
    answers = [decode(frame) for frame in FrameBuffer().feed(written)]
    sent, broken = _client_frames(_stream(data))
    sequences = {int.from_bytes(frame[12:16], "big") for frame in sent} | {broken or 0}
    assert len(answers) <= len(sent) + 1
    for answer in answers:
        assert answer.is_response, answer  # no request of ours fits in so short a run
        assert answer.sequence_number in sequences or answer.sequence_number == 0
        if answer.command_id == CommandId.GENERIC_NACK:
            assert answer.command_status != CommandStatus.ESME_ROK
    unbound = any(answer.command_id == CommandId.UNBIND_RESP for answer in answers)
    if broken is not None and not unbound:  # after an unbind the server reads no further
        nack = GenericNack(sequence_number=broken, command_status=CommandStatus.ESME_RINVCMDLEN)
        assert nack in answers, answers
