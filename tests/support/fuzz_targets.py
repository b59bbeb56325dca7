"""Fuzz targets for the byte-level parsers, shared by hypothesis tests and an atheris run.

Each target takes arbitrary bytes and raises AssertionError (or any unexpected exception)
only on a real defect: the PDU decoder (:func:`gatewayd.sms.decode_pdu`) may only return a
decoded TPDU or raise a one-line ``PduError``; the AT line functions
(:mod:`gatewayd.modem.lines`) and the transport's line splitting
(:class:`gatewayd.modem.transport.AtProtocol`) must take anything; the SMPP codec
(:mod:`gatewayd.smpp`) may only raise its own status errors, and what it decodes it writes
back to a frame that reads the same; the SMPP server's connection
(:mod:`tests.support.fuzz_smpp_server`) answers anything with frames that decode.

Run under atheris as a program (bounded by ``-runs`` / ``-max_total_time``)::

    python -m tests.support.fuzz_targets decode -runs=20000 -max_total_time=20
"""

from __future__ import annotations

import contextlib
import gc
import json
import sys
import types
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import gatewayd
from gatewayd.modem.lines import (
    Line,
    LineKind,
    PendingContext,
    classify,
    clean_line,
    find_prompt,
    header_length,
    is_pdu_line,
    parse_final,
)
from gatewayd.modem.transport import AtProtocol
from gatewayd.smpp import (
    CommandStatus,
    DataSm,
    DefaultAlphabet,
    DeliverSm,
    FrameBuffer,
    SubmitMulti,
    SubmitSm,
    TextError,
    TimeError,
    message_content,
    parse_receipt,
    parse_time,
)
from gatewayd.smpp import PduError as SmppPduError
from gatewayd.smpp import decode as smpp_decode
from gatewayd.smpp import encode as smpp_encode
from gatewayd.sms import PduError, decode_pdu, pdu_to_json
from tests.support.fuzz_smpp_server import fuzz_smpp_server

CONTEXTS = (
    None,
    PendingContext("AT+CSQ", "+CSQ"),
    PendingContext("AT+CMGS=23", "+CMGS", sent_pdu="0011000B915121551532F40000AA0AE8329BFD"),
    PendingContext("AT+CMGL=4", "+CMGL"),
)


def fuzz_decode(data: bytes) -> None:
    for attempt in (data, data.hex(), data.decode("latin-1")):
        for smsc in (True, False):
            try:
                decoded = decode_pdu(attempt, smsc=smsc)
            except PduError as error:
                assert "\n" not in str(error), repr(str(error))
                continue
            json.dumps(pdu_to_json(decoded))


def fuzz_lines(data: bytes) -> None:
    text, damaged = clean_line(data)
    assert isinstance(text, str) and isinstance(damaged, bool)
    for context in CONTEXTS:
        line = classify(text, damaged, context)
        assert isinstance(line.kind, LineKind)
    parse_final(text)
    header_length(text)
    is_pdu_line(text)
    is_pdu_line(text, len(data) % 200)
    consumed = find_prompt(data)
    assert consumed is None or 0 < consumed <= len(data)


class RecordingSink:
    """A LineSink that keeps everything and pretends a command waits for a prompt."""

    def __init__(self, context: PendingContext | None, prompt: bool) -> None:
        self.context = context
        self.prompt = prompt
        self.lines: list[tuple[Line, str | None]] = []
        self.prompts = 0

    def pending_context(self) -> PendingContext | None:
        return self.context

    def awaiting_prompt(self) -> bool:
        return self.prompt

    def line_received(self, line: Line, pdu: str | None) -> None:
        self.lines.append((line, pdu))

    def prompt_received(self) -> None:
        self.prompts += 1

    def connection_lost(self, exc: Exception | None) -> None:
        pass


def fuzz_transport(data: bytes) -> None:
    """Split ``data`` into chunks at its own bytes' say; the line splitter must not raise."""
    if not data:
        return
    for context, prompt in ((None, False), (CONTEXTS[2], True)):
        sink = RecordingSink(context, prompt)
        protocol = AtProtocol.__new__(AtProtocol)
        protocol._sink = sink
        protocol._max_line_bytes = 256
        protocol._buffer = bytearray()
        protocol._header_awaiting_pdu = None
        protocol.garbage_bytes = 0
        protocol._partial_is_stale = False
        step = 1 + data[0] % 17
        for start in range(1, len(data), step):
            protocol._buffer.extend(data[start : start + step])
            protocol._drain_buffer()  # the real path swallows and logs; here it must not raise
            assert len(protocol._buffer) <= 256 + step
        for line, _pdu in sink.lines:
            assert "\r" not in line.text and "\n" not in line.text


SMPP_NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def fuzz_smpp(data: bytes) -> None:
    """The SMPP codec on ``data`` as one frame, and as a stream cut into chunks."""
    try:
        pdu = smpp_decode(data)
    except SmppPduError as error:
        assert isinstance(error.status, CommandStatus) and "\n" not in str(error)
    else:
        frame = smpp_encode(pdu)
        assert smpp_encode(smpp_decode(frame)) == frame
        if isinstance(pdu, SubmitSm | DeliverSm | SubmitMulti | DataSm):
            _fuzz_smpp_message(pdu)
    frames = FrameBuffer(max_length=4096)
    step = 1 + (data[0] % 17 if data else 0)
    try:
        for start in range(0, len(data), step):
            for frame in frames.feed(data[start : start + step]):
                assert int.from_bytes(frame[:4], "big") == len(frame) >= 16
    except SmppPduError as error:
        assert error.status == CommandStatus.ESME_RINVCMDLEN


def _fuzz_smpp_message(pdu: SubmitSm | DeliverSm | SubmitMulti | DataSm) -> None:
    alphabets: tuple[DefaultAlphabet, ...] = ("gsm", "latin1")
    for alphabet in alphabets:
        try:
            content = message_content(pdu, default_alphabet=alphabet)
        except TextError as error:
            assert "\n" not in str(error)
        else:
            assert isinstance(content.text, str)
            with contextlib.suppress(ValueError):
                parse_receipt(content.text)
    if not isinstance(pdu, DataSm):
        for value in (pdu.schedule_delivery_time, pdu.validity_period):
            try:
                parse_time(value, now=SMPP_NOW, status=CommandStatus.ESME_RINVSCHED)
            except TimeError as error:
                assert error.status == CommandStatus.ESME_RINVSCHED


TARGETS: dict[str, Callable[[bytes], None]] = {
    "decode": fuzz_decode,
    "lines": fuzz_lines,
    "transport": fuzz_transport,
    "smpp": fuzz_smpp,
    "smpp_server": fuzz_smpp_server,
}


def _stop_measuring() -> None:
    """The test command measures coverage in every process it starts; under coverage.py's
    tracer an atheris run stalls after a few thousand inputs. What these targets cover is
    measured by the hypothesis tests, in-process."""
    try:
        import coverage
    except ImportError:
        return
    running = coverage.Coverage.current()
    if running is not None:
        running.stop()


def _instrument_the_gateway(atheris: types.ModuleType) -> None:
    """Coverage feedback from the gateway's own functions (a few hundred, a second's work),
    not from all of the thousands loaded (``atheris.instrument_all()``: half a minute)."""
    package = f"{Path(gatewayd.__file__).parent}/"
    for found in gc.get_objects():
        if isinstance(found, types.FunctionType) and found.__code__.co_filename.startswith(package):
            atheris.instrument_func(found)


def main() -> None:
    import atheris  # type: ignore[import-untyped]

    target = TARGETS[sys.argv[1]]
    _stop_measuring()
    _instrument_the_gateway(atheris)
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
