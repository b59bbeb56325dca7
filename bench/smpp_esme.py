"""The SMPP benchmark's client (ESME): a lean asyncio client on :mod:`gatewayd.smpp`, run in a
process of its own so that its CPU is not counted against the server's event loop.

``submit``: binds as transceiver and keeps ``--window`` submit_sm outstanding until
``--count`` were answered; prints JSON with the raw timings (first send, every answer's
latency, last answer) from which the caller computes rates. ``receive``: binds as receiver,
acknowledges every ``deliver_sm`` with ``ESME_ROK`` and prints when the bind was answered and
when each of the first ``--count`` deliveries arrived.

Run: .venv/bin/python -m bench.smpp_esme submit --port 2775 --count 10000 --window 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gatewayd.smpp import (
    BindReceiver,
    BindTransceiver,
    CommandId,
    EnquireLinkResp,
    FrameBuffer,
    SubmitSm,
    UnbindResp,
    decode,
    encode,
)
from gatewayd.sms.gsm7 import text_to_septets

FIRST_DESTINATION = 5511987600000
HEADER = struct.Struct(">IIII")
_DELIVER_SM_RESP = CommandId.DELIVER_SM | 0x80000000


def deliver_sm_resp(sequence: int) -> bytes:
    """An ESME_ROK deliver_sm_resp (empty message_id), packed without the codec."""
    return HEADER.pack(HEADER.size + 1, _DELIVER_SM_RESP, 0, sequence) + b"\0"


def submit_frames(count: int) -> list[bytes]:
    """``count`` encoded submit_sm (sequence 2..count+1), a receipt asked for on each."""
    frames = []
    for index in range(count):
        pdu = SubmitSm(
            sequence_number=index + 2,
            source_addr="BENCH",
            source_addr_ton=5,
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=str(FIRST_DESTINATION + index % 100_000),
            registered_delivery=1,
            short_message=text_to_septets(f"SMPP benchmark message {index}"),
        )
        frames.append(encode(pdu))
    return frames


class Esme:
    """One connection: requests written as prepared bytes, answers matched by sequence."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.frames = FrameBuffer()

    async def read_frames(self) -> list[bytes]:
        data = await self.reader.read(1 << 16)
        if not data:
            raise ConnectionError("the server closed the connection")
        return list(self.frames.feed(data))

    async def bind(self, pdu: BindTransceiver | BindReceiver) -> None:
        self.writer.write(encode(pdu))
        while True:
            for frame in await self.read_frames():
                answer = decode(frame)
                if answer.sequence_number == pdu.sequence_number:
                    if answer.command_status != 0:
                        raise RuntimeError(f"bind refused: status {answer.command_status:#x}")
                    return

    def answer_request(self, command_id: int, sequence: int) -> None:
        if command_id == CommandId.ENQUIRE_LINK:
            self.writer.write(encode(EnquireLinkResp(sequence_number=sequence)))
        elif command_id == CommandId.UNBIND:
            self.writer.write(encode(UnbindResp(sequence_number=sequence)))


async def run_submit(host: str, port: int, args: argparse.Namespace) -> dict[str, Any]:
    frames = submit_frames(args.count)
    reader, writer = await asyncio.open_connection(host, port)
    esme = Esme(reader, writer)
    await esme.bind(
        BindTransceiver(sequence_number=1, system_id=args.system_id, password=args.password)
    )
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    next_index = 0
    answered = 0
    deadline = time.monotonic() + args.max_seconds
    first_sent = time.perf_counter()

    def fill() -> None:
        nonlocal next_index
        batch = []
        while next_index < args.count and len(sent_at) < args.window:
            sent_at[next_index + 2] = time.perf_counter()
            batch.append(frames[next_index])
            next_index += 1
        if batch:
            writer.write(b"".join(batch))

    fill()
    last_answer = first_sent
    while answered < args.count and time.monotonic() < deadline:
        for frame in await esme.read_frames():
            _, command_id, status, sequence = HEADER.unpack_from(frame)
            if command_id == CommandId.SUBMIT_SM_RESP:
                started = sent_at.pop(sequence, None)
                if started is None:
                    continue
                last_answer = time.perf_counter()
                latencies.append(last_answer - started)
                statuses[f"{status:#x}"] = statuses.get(f"{status:#x}", 0) + 1
                answered += 1
            elif command_id == CommandId.DELIVER_SM:
                writer.write(deliver_sm_resp(sequence))
            elif not command_id & 0x80000000:
                esme.answer_request(command_id, sequence)
        fill()
    writer.close()
    return {
        "sent": next_index,
        "answered": answered,
        "statuses": statuses,
        "first_sent": first_sent,
        "last_answer": last_answer,
        "latencies_s": latencies,
        "cpu_s": time.process_time(),
    }


async def run_receive(host: str, port: int, args: argparse.Namespace) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection(host, port)
    esme = Esme(reader, writer)
    asked = time.perf_counter()
    await esme.bind(
        BindReceiver(sequence_number=1, system_id=args.system_id, password=args.password)
    )
    bound = time.perf_counter()
    arrivals: list[float] = []
    deadline = time.monotonic() + args.max_seconds
    receipts = 0
    while len(arrivals) < args.count and time.monotonic() < deadline:
        try:
            got = await asyncio.wait_for(esme.read_frames(), max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            break
        answers = []
        for frame in got:
            _, command_id, _, sequence = HEADER.unpack_from(frame)
            if command_id == CommandId.DELIVER_SM:
                arrivals.append(time.perf_counter())
                receipts += frame[HEADER.size :].count(b"stat:DELIVRD")
                answers.append(deliver_sm_resp(sequence))
            elif not command_id & 0x80000000:
                esme.answer_request(command_id, sequence)
        if answers:
            writer.write(b"".join(answers))
    await writer.drain()
    writer.close()
    return {"bind_asked": asked, "bound": bound, "arrivals": arrivals, "receipts": receipts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("submit", "receive"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--system-id", default="bench")
    parser.add_argument("--password", default="bench123")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args()
    runner = run_submit if args.mode == "submit" else run_receive
    outcome = asyncio.run(runner(args.host, args.port, args))
    json.dump(outcome, sys.stdout)


if __name__ == "__main__":
    main()
