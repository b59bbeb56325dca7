"""The simulated modem's own ceiling: how fast a client that does nothing but ``AT+CMGS``,
back to back, with blocking reads and writes on the pty, gets parts through one simulated
modem. The ratio of the limit benchmark is taken against 1/latency; this shows how much of the
gap is the AT exchange itself (the prompt's round trip, the answer's delivery, the
simulator's timer), which no gateway can save.

Run: .venv/bin/python -m bench.sim_ceiling [--latency-ms 50] [--parts 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import statistics
import termios
import time
import tty

from bench.common import Result, say
from bench.stack import start_simulator, work_directory
from gatewayd.sms import encode_submit

READ_TIMEOUT = 10.0


def _read_until(fd: int, marker: bytes, buffer: bytearray) -> None:
    deadline = time.monotonic() + READ_TIMEOUT
    while marker not in buffer:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"no {marker!r} from the simulated modem: {bytes(buffer)!r}")
        buffer += os.read(fd, 4096)


def _command(fd: int, line: str) -> None:
    buffer = bytearray()
    os.write(fd, line.encode() + b"\r")
    _read_until(fd, b"OK\r\n", buffer)


def tight_loop(device: str, parts: int) -> dict[str, float]:
    """Send ``parts`` PDUs back to back; the medians of the two turns and the overall rate."""
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        termios.tcflush(fd, termios.TCIOFLUSH)
        for line in ("ATE0", "AT+CMGF=0"):
            _command(fd, line)
        [part] = encode_submit("+5511987650000", "ceiling")
        prompts: list[float] = []
        answers: list[float] = []
        started = time.perf_counter()
        for _ in range(parts):
            buffer = bytearray()
            t0 = time.perf_counter()
            os.write(fd, f"AT+CMGS={part.tpdu_length}\r".encode())
            _read_until(fd, b"> ", buffer)
            t1 = time.perf_counter()
            os.write(fd, part.pdu.encode() + b"\x1a")
            buffer.clear()
            _read_until(fd, b"OK\r\n", buffer)
            t2 = time.perf_counter()
            prompts.append(t1 - t0)
            answers.append(t2 - t1)
        elapsed = time.perf_counter() - started
    finally:
        os.close(fd)
    return {
        "rate_sms_per_s": parts / elapsed,
        "prompt_turn_ms": statistics.median(prompts) * 1000,
        "answer_after_pdu_ms": statistics.median(answers) * 1000,
    }


async def ceiling(latency_ms: float, parts: int) -> Result:
    with work_directory("ceiling") as work:
        simulator = await start_simulator(work, 1, latency_ms=latency_ms)
        try:
            figures = await asyncio.to_thread(tight_loop, simulator.devices[0], parts)
        finally:
            await simulator.proc.stop()
    limit = 1000.0 / latency_ms
    return {
        "latency_ms": latency_ms,
        "parts": parts,
        "limit_sms_per_s": limit,
        **{key: round(value, 3) for key, value in figures.items()},
        "ratio": round(figures["rate_sms_per_s"] / limit, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--parts", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(ceiling(args.latency_ms, args.parts))
    say(
        f"simulator ceiling at {args.latency_ms:g} ms: ratio {result['ratio']:.4f} "
        f"(prompt turn {result['prompt_turn_ms']:.2f} ms, answer "
        f"{result['answer_after_pdu_ms']:.2f} ms after the PDU)"
    )


if __name__ == "__main__":
    main()
